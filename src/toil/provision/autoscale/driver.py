"""The thin loop that applies the policy every --scaleInterval through a cluster backend, and saves its state."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from toil.provision.autoscale.cost import CostReport, cost_report
from toil.provision.autoscale.policy import (
    DRAINING,
    NOTICE,
    Completion,
    Decision,
    JobDemand,
    NodeChoice,
    NodeStatus,
    PolicyOptions,
    decide,
    reissue_on_notice,
    slots,
    surplus_idle,
    usable,
)
from toil.provision.autoscale.state import NodeUsage, ScalerState

log = logging.getLogger(__name__)


class ClusterBackend(Protocol):
    """The jobs and nodes the driver scales for, and how it acts on nodes (a provisioner plus a batch system)."""

    def jobs(self) -> list[JobDemand]:
        """Jobs queued or running."""

    def nodes(self) -> list[NodeStatus]:
        """Worker nodes that exist (booting, up, draining, under preemption notice)."""

    def add_nodes(self, choice: NodeChoice, count: int) -> list[str]:
        """Start nodes of a type; the names of those started (fewer if spot capacity was short)."""

    def drain(self, name: str) -> None:
        """Send no new jobs to the node."""

    def undrain(self, name: str) -> None:
        """Send jobs to the node again."""

    def terminate(self, names: Sequence[str]) -> None:
        """Remove the nodes."""

    def fail_job(self, job: str, message: str) -> None:
        """Fail a job that no node type can run, with the policy's one line."""

    def reissue(self, job: str) -> None:
        """Run a job again elsewhere now (its node is being preempted); no retry is spent."""


@dataclass
class AutoscaleDriver:
    """Asks the policy what to do and does it: undrain, launch, drain (then remove idle) nodes; remembers launches."""

    backend: ClusterBackend
    choices: Sequence[NodeChoice]
    options: PolicyOptions
    state: ScalerState = field(default_factory=ScalerState)
    state_path: Path | None = None  # where the state is saved after each step (read back on a leader restart)
    stats_path: Path | None = None  # --clusterStats: where the node-hours and cost go when the workflow ends
    # where the node-hours and cost go as the run goes (the job store, for 'toil stats'), and how often at least
    record: Callable[[CostReport, float], None] | None = None
    record_every: float = 60.0
    _recorded: tuple[tuple[NodeUsage, ...], float] | None = None  # the usage last recorded, and when
    _completions: list[Completion] = field(default_factory=list)
    _failed: set[str] = field(default_factory=set)
    _noticed: set[str] = field(default_factory=set)  # nodes whose preemption notice was acted on
    _wanted: dict[str, int] | None = None  # the last decision's node count per type (None before the first)
    _replanned: set[str] = field(default_factory=set)  # nodes under notice some decision already knew of

    @classmethod
    def resume(
        cls, backend: ClusterBackend, choices: Sequence[NodeChoice], options: PolicyOptions, path: Path
    ) -> AutoscaleDriver:
        """A driver that carries on from the state saved at ``path`` (a fresh state if there is none)."""
        state = ScalerState.from_json(path.read_text()) if path.exists() else ScalerState()
        return cls(backend, choices, options, state, path)

    def job_finished(self, name: str, wall_time: float) -> None:
        """Learn from a finished job at the next step."""
        self._completions.append(Completion(name, wall_time))

    def step(self, now: float) -> Decision:
        """One decision, applied."""
        launched = set(self.state.launched)
        nodes = [replace(n, static=n.name not in launched) for n in self.backend.nodes()]
        for node in nodes:  # a notice its node agent reported: the jobs that would not finish run elsewhere now
            if node.state == NOTICE and node.name not in self._noticed:
                self.preemption_notice(node.name, self.options.notice_window)
        self._replanned |= {n.name for n in nodes if n.state == NOTICE}
        decision = decide(now, self.backend.jobs(), nodes, self.choices, self.options, self.state, self._completions)
        self._completions = []
        self.state = replace(decision.state, launched=self.state.launched, usage=self.state.usage)  # learned, kept
        for unfit in decision.unfit:
            if unfit.job not in self._failed:
                self._failed.add(unfit.job)  # the backend says it (a static node may still run the job)
                self.backend.fail_job(unfit.job, unfit.message)
        for name in decision.undrain:
            self.backend.undrain(name)
        by_key = {c.key: c for c in self.choices}
        started: list[str] = []
        usage = list(self.state.usage)
        for launch in decision.launch:
            choice = by_key[launch.key]
            names = self.backend.add_nodes(choice, launch.count)
            started += names
            usage += [NodeUsage(n, choice.key, choice.preemptible, choice.hourly, now) for n in names]
        self._retire(decision.retire, launched)
        for name in decision.drain:  # busy: removed once idle (by settle, or the next step)
            self.backend.drain(name)
        self._wanted = decision.wanted
        self._keep(tuple(started), usage, now)
        return decision

    def settle(self, now: float) -> tuple[str, ...]:
        """Between steps: retire nodes gone idle that the last decision did not want, or under notice; their names.

        Per-second billing makes every idle second count, so a surplus node is removed when it goes idle rather
        than at the next --scaleInterval. Nodes of a type some queued job fits are left to the next decision.
        A new preemption notice is decided on at once (a step), so its replacement boots during the notice.
        """
        if self._wanted is None or not self.state.launched:
            return ()  # before the first decision, or nothing of ours to remove: no need to ask the provider
        launched = set(self.state.launched)
        nodes = [replace(n, static=n.name not in launched) for n in self.backend.nodes()]
        if any(n.state == NOTICE and n.name not in self._replanned for n in nodes):
            # capacity is going: decide again now, so a replacement boots during the notice
            return self.step(now).retire
        queued = [j for j in self.backend.jobs() if j.node is None]
        fitted = [usable(c, self.options.assume_zero_overhead) for c in self.choices]
        wanted_by = {c.key for c in fitted if any(slots(c, j) > 0 for j in queued)}  # the next decision's call
        live: dict[str, list[NodeStatus]] = {}
        for n in nodes:
            live.setdefault(n.type_key, []).append(n)
        state = {n.name: (n.state, n.type_key) for n in nodes}
        retire = tuple(
            name
            for name in surplus_idle(fitted, live, self._wanted)
            if state[name][0] in (NOTICE, DRAINING) or state[name][1] not in wanted_by
        )
        if retire:
            self._retire(retire, launched)
            self._keep((), self.state.usage, now)
        return retire

    def _retire(self, names: Sequence[str], launched: set[str]) -> None:
        """Drain the nodes, then remove those this workflow launched that run nothing."""
        for name in names:
            self.backend.drain(name)
        if names:
            idle = {n.name for n in self.backend.nodes() if not n.busy and n.name in launched}
            self.backend.terminate([name for name in names if name in idle])

    def _keep(self, started: tuple[str, ...], usage: Sequence[NodeUsage], now: float) -> None:
        """Remember the launched nodes that still exist (and those just started), end the usage of the rest."""
        existing = {n.name for n in self.backend.nodes()}
        kept = tuple(name for name in self.state.launched if name in existing)
        self.state = replace(self.state, launched=kept + started, usage=_ended(usage, existing, now))
        self._save()
        self._record(now)

    def costs(self, now: float) -> CostReport:
        """Node-hours and estimated cost of the nodes launched so far."""
        return cost_report(self.state.usage, now)

    def preemption_notice(self, node: str, time_left: float) -> tuple[str, ...]:
        """A node will be preempted in ``time_left`` seconds: re-issue elsewhere the jobs that would not finish."""
        self._noticed.add(node)
        on_node = [j for j in self.backend.jobs() if j.node == node]
        state = self.state
        for done in self._completions:
            state = state.learn(done.name, done.wall_time)
        late = reissue_on_notice(on_node, state, self.options, time_left)
        for job in late:
            self.backend.reissue(job)
        return late

    def shutdown(self, now: float | None = None) -> None:
        """The workflow ended: remove every node it launched; write the node-hours and cost (--clusterStats)."""
        now = time.time() if now is None else now
        existing = {n.name for n in self.backend.nodes()}
        self.backend.terminate([name for name in self.state.launched if name in existing])
        self.state = replace(self.state, launched=(), usage=_ended(self.state.usage, set(), now))
        self._save()
        self._record(now, force=True)
        if self.stats_path is not None:
            self.stats_path.write_text(self.costs(now).to_json())
        for line in self.costs(now).lines():
            log.info("%s", line)

    def run(
        self,
        stop: threading.Event,
        clock: Callable[[], float] = time.time,
        interval: float = 60.0,
        settle_every: float = 10.0,
    ) -> None:
        """Step every ``interval`` seconds (settling every ``settle_every`` between) until ``stop``, then shut down.

        A failed step or settle is logged, not fatal.
        """
        try:
            while not stop.is_set():
                self._guarded(self.step, clock(), "autoscaling step")
                due = clock() + interval
                while not stop.wait(max(0.0, min(settle_every, due - clock()))) and clock() < due:
                    self._guarded(self.settle, clock(), "retiring idle nodes")
        finally:
            self.shutdown(clock())

    @staticmethod
    def _guarded(action: Callable[[float], object], now: float, what: str) -> None:
        try:
            action(now)
        except Exception:
            log.exception("%s failed; trying again later", what)

    def _record(self, now: float, force: bool = False) -> None:
        """Hand ``record`` the costs when nodes came or went, every ``record_every`` seconds, and when forced."""
        last = self._recorded
        if self.record is None or not self.state.usage:
            return
        if not force and last is not None and last[0] == self.state.usage and now - last[1] < self.record_every:
            return
        try:
            self.record(self.costs(now), now)
            self._recorded = (self.state.usage, now)
        except Exception:
            log.exception("could not record the cluster's node-hours and cost")

    def _save(self) -> None:
        if self.state_path is None:
            return
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(self.state.to_json())
        os.replace(temporary, self.state_path)


def _ended(usage: Sequence[NodeUsage], existing: set[str], now: float) -> tuple[NodeUsage, ...]:
    """The usage with nodes no longer there (removed or preempted) ended at ``now``."""
    return tuple(u if u.ended is not None or u.name in existing else replace(u, ended=now) for u in usage)
