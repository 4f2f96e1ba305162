"""A deterministic cluster simulator: a simulated clock, nodes that boot and get preempted, jobs that run.

It imports nothing but the standard library, so a benchmark can load this file by path into another
Python (Toil 9.6's virtualenv) and drive Toil's own ClusterScaler with exactly the same simulation.
A scaler sees it through ``tick`` every scale interval (and ``settle`` after other events, if it acts between
intervals) and acts through launch, drain and terminate.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Protocol

# event kinds, in the order events at one instant are handled: work and nodes first, the scaler last
_DONE, _UP, _NOTICE, _LOSS, _TICK = range(5)
Shape = tuple[float, int, int, int, bool]


@dataclass(frozen=True)
class SimNodeType:
    """A node type as launched: instance type, shape, hourly price, spot or not."""

    key: str
    instance_type: str
    cores: float
    memory: int
    disk: int
    hourly: float
    preemptible: bool = False
    accelerators: int = 0


@dataclass(frozen=True)
class SimJob:
    """One job of a workload: needs, true run time (seconds), and the jobs it waits for."""

    id: int
    name: str
    cores: float
    memory: int
    disk: int
    runtime: float
    preemptible: bool = False
    parents: tuple[int, ...] = ()
    accelerators: int = 0

    @property
    def shape(self) -> Shape:
        """What the job asks for, as a key."""
        return (self.cores, self.memory, self.disk, self.accelerators, self.preemptible)


@dataclass(frozen=True)
class SpotModel:
    """Spot losses: each spot node lives an exponential time of mean ``mean_life`` seconds (None: never lost)."""

    mean_life: float | None = None
    notice: float = 120.0
    seed: int = 0


@dataclass
class SimNode:
    """One simulated node and what runs on it."""

    name: str
    type: SimNodeType
    launched_at: float
    up_at: float
    static: bool = False
    state: str = "booting"  # booting | up | draining | notice | gone
    cores: float = 0.0
    memory: int = 0
    disk: int = 0
    accelerators: int = 0
    running: dict[int, float] = field(default_factory=dict)  # job id -> start time
    ended_at: float | None = None
    idle_since: float | None = None  # when it last ran nothing while up (None: busy, or not up yet)

    def fits(self, job: SimJob) -> bool:
        """Whether the job fits in what is free (a job that is not preemptible never goes to a spot node)."""
        t = self.type
        return (
            (job.preemptible or not t.preemptible)
            and self.cores + job.cores <= t.cores + 1e-9
            and self.memory + job.memory <= t.memory
            and self.disk + job.disk <= t.disk
            and self.accelerators + job.accelerators <= t.accelerators
        )


@dataclass
class RunResult:
    """What a run cost and how long it took."""

    makespan: float
    cost: float
    node_hours: dict[str, float]
    completed: int
    failed: list[str]
    spot_losses: int = 0  # nodes lost to preemption
    retries_on_spot: int = 0  # job retries spent because a node was preempted
    reissued_on_notice: int = 0  # jobs re-issued elsewhere on a preemption notice (no retry spent)
    lost_work: float = 0.0  # seconds of job run time thrown away by preemption
    killed_by_scaler: int = 0  # running jobs killed because the scaler removed their node
    idle_seconds: float = 0.0  # node-seconds nodes were up with nothing running (billed, no work done)
    peak_nodes: int = 0
    launched: int = 0  # nodes started (each boot is billed and does no work)
    left_running: int = 0  # nodes the scaler had not removed when the workflow ended
    finished: bool = True


class Scaler(Protocol):
    """What the simulation drives: a tick every scale interval, word of finished jobs, the end."""

    def tick(self, sim: Simulation) -> None:
        """Look at the simulation and act on it."""

    def settle(self, sim: Simulation) -> None:
        """Between ticks, once jobs finished or nodes came, went or got notices: act on that at once if it acts."""

    def job_finished(self, job: SimJob, wall_time: float) -> None:
        """A job finished after ``wall_time`` seconds."""

    def finish(self, sim: Simulation) -> None:
        """The workflow ended: remove what was launched."""

    def on_notice(self, sim: Simulation, node: SimNode) -> list[int]:
        """A node got its preemption notice: the jobs on it to run again elsewhere now (the rest may finish)."""


class Simulation:
    """A cluster under a scaler, replaying a workload on a simulated clock."""

    def __init__(
        self,
        jobs: list[SimJob],
        node_types: list[SimNodeType],
        spot: SpotModel = SpotModel(),
        boot_time: float = 120.0,
        scale_interval: float = 60.0,
        honour_notices: bool = True,
        static: dict[str, int] | None = None,
    ) -> None:
        self.jobs = {j.id: j for j in jobs}
        self.types = {t.key: t for t in node_types}
        self.spot, self.boot_time, self.scale_interval = spot, boot_time, scale_interval
        self.honour_notices = honour_notices
        self.now = 0.0
        self.nodes: dict[str, SimNode] = {}
        self.where: dict[int, str] = {}  # running job -> node
        self.queue: dict[Shape, deque[int]] = defaultdict(deque)
        self.children: dict[int, list[int]] = defaultdict(list)
        self.waiting = {j.id: len(j.parents) for j in jobs}
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.spot_retries: dict[int, int] = defaultdict(int)
        self._events: list[tuple[float, int, int, int, str]] = []
        self._seq = self._spot_count = 0
        self.result = RunResult(0.0, 0.0, {}, 0, [])
        for j in jobs:
            for p in j.parents:
                self.children[p].append(j.id)
            if not j.parents:
                self.queue[j.shape].append(j.id)
        for key, count in (static or {}).items():
            for _ in range(count):
                node = self._new_node(self.types[key], up_at=0.0, static=True)
                node.state = "up"

    # what a scaler sees
    def queued(self) -> list[SimJob]:
        """Jobs ready to run and not running, oldest first."""
        return sorted((self.jobs[i] for q in self.queue.values() for i in q), key=lambda j: j.id)

    def running(self) -> list[tuple[SimJob, SimNode, float]]:
        """Running jobs, each with its node and start time."""
        return [(self.jobs[i], self.nodes[n], self.nodes[n].running[i]) for i, n in self.where.items()]

    def live_nodes(self) -> list[SimNode]:
        """Nodes not yet gone, in launch order."""
        return [n for n in self.nodes.values() if n.state != "gone"]

    # what a scaler does
    def launch(self, key: str, count: int) -> list[str]:
        """Start ``count`` nodes of a type; they take the boot time to come up. Their names."""
        return [self._new_node(self.types[key], up_at=self.now + self.boot_time).name for _ in range(count)]

    def drain(self, name: str) -> None:
        """Send no new jobs to the node."""
        if self.nodes[name].state in ("up", "booting"):
            self.nodes[name].state = "draining"

    def undrain(self, name: str) -> None:
        """Send jobs to the draining node again."""
        if self.nodes[name].state == "draining":
            self.nodes[name].state = "up" if self.now >= self.nodes[name].up_at else "booting"

    def terminate(self, names: list[str]) -> None:
        """Remove nodes; jobs still running on them are killed (counted against the scaler) and run again."""
        for name in names:
            node = self.nodes[name]
            if node.state == "gone":
                continue
            self.result.killed_by_scaler += len(node.running)
            self._end_node(node)

    def reissue(self, job_id: int) -> None:
        """Stop a running job and queue it again first (a re-issue on a preemption notice: no retry spent)."""
        if job_id in self.where:
            self.result.reissued_on_notice += 1
            self._requeue(job_id)

    def fail(self, job_id: int, why: str) -> None:
        """Fail a queued job (and what waits for it) for good."""
        job = self.jobs[job_id]
        if job_id in self.queue[job.shape]:
            self.queue[job.shape].remove(job_id)
            self._fail_tree(job_id, why)

    # the clock
    def run(self, scaler: Scaler, limit: float = 7 * 86400.0) -> RunResult:
        """Replay the workload under the scaler until every job finished or failed (or ``limit`` seconds)."""
        self._push(0.0, _TICK, 0, "")
        while len(self.done) + len(self.failed) < len(self.jobs):
            if not self._events or self._events[0][0] > limit:
                self.result.finished = False
                break
            self.now = self._events[0][0]
            ticked = False
            while self._events and self._events[0][0] == self.now:
                _, kind, _, job_id, name = heapq.heappop(self._events)
                if kind == _TICK:
                    ticked = True
                else:
                    self._handle(kind, job_id, name, scaler)
            self._schedule()
            if ticked:
                scaler.tick(self)
                self._schedule()
                self._push(self.now + self.scale_interval, _TICK, 0, "")
            else:
                scaler.settle(self)
            self.result.peak_nodes = max(self.result.peak_nodes, len(self.live_nodes()))
        self.result.makespan = self.now
        scaler.finish(self)
        self.result.left_running = len(self.live_nodes())
        for node in self.live_nodes():
            self._end_node(node)
        self._bill()
        return self.result

    def _push(self, at: float, kind: int, job_id: int, name: str) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, kind, self._seq, job_id, name))

    def _new_node(self, node_type: SimNodeType, up_at: float, static: bool = False) -> SimNode:
        node = SimNode(f"{node_type.instance_type}-{len(self.nodes)}", node_type, self.now, up_at, static)
        self.nodes[node.name] = node
        self._push(up_at, _UP, 0, node.name)
        if node_type.preemptible and self.spot.mean_life:
            rng = random.Random(f"{self.spot.seed}:{self._spot_count}")
            self._spot_count += 1
            dies = up_at + rng.expovariate(1 / self.spot.mean_life)
            if self.honour_notices and dies - self.spot.notice > up_at:
                self._push(dies - self.spot.notice, _NOTICE, 0, node.name)
            self._push(dies, _LOSS, 0, node.name)
        return node

    def _handle(self, kind: int, job_id: int, name: str, scaler: Scaler) -> None:
        node = self.nodes[name]
        if node.state == "gone":
            return
        if kind == _UP:
            node.idle_since = self.now
            if node.state == "booting":
                node.state = "up"
        elif kind == _DONE:
            if self.where.get(job_id) != name:
                return  # a stale event: the job was killed and runs elsewhere
            started = node.running[job_id]
            self._stop_job(job_id)
            self.done.add(job_id)
            self.result.completed += 1
            scaler.job_finished(self.jobs[job_id], self.now - started)
            for child in self.children[job_id]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0 and child not in self.failed:
                    self.queue[self.jobs[child].shape].append(child)
        elif kind == _NOTICE:
            self.result.spot_losses += 1
            node.state = "notice"
            for job in scaler.on_notice(self, node):
                self.reissue(job)
        elif kind == _LOSS:
            self.result.spot_losses += node.state != "notice"
            for job in list(node.running):
                if not self.honour_notices:
                    self.result.retries_on_spot += 1
                    self.spot_retries[job] += 1
                self._requeue(job)
            self._end_node(node)

    def _requeue(self, job_id: int) -> None:
        node = self.nodes[self.where[job_id]]
        self.result.lost_work += self.now - node.running[job_id]
        self._stop_job(job_id)
        self.queue[self.jobs[job_id].shape].appendleft(job_id)

    def _stop_job(self, job_id: int) -> None:
        node = self.nodes[self.where.pop(job_id)]
        job = self.jobs[job_id]
        del node.running[job_id]
        if not node.running:
            node.idle_since = self.now
        node.cores -= job.cores
        node.memory -= job.memory
        node.disk -= job.disk
        node.accelerators -= job.accelerators

    def _end_node(self, node: SimNode) -> None:
        for job in list(node.running):
            self._requeue(job)
        self._count_idle(node)
        node.state, node.ended_at = "gone", self.now

    def _count_idle(self, node: SimNode) -> None:
        if node.idle_since is not None:
            self.result.idle_seconds += self.now - node.idle_since
            node.idle_since = None

    def _fail_tree(self, job_id: int, why: str) -> None:
        self.failed[job_id] = why
        self.result.failed.append(why)
        for child in self.children[job_id]:
            if child not in self.failed:
                self._fail_tree(child, f"{self.jobs[child].name}: a job it waits for failed")

    def _schedule(self) -> None:
        """First fit, oldest job first, onto nodes that are up and take jobs."""
        open_nodes = [n for n in self.nodes.values() if n.state == "up"]
        if not open_nodes:
            return
        for shape in sorted((s for s, q in self.queue.items() if q), key=lambda s: self.queue[s][0]):
            q = self.queue[shape]
            for node in open_nodes:
                while q and node.fits(self.jobs[q[0]]):
                    self._start(q.popleft(), node)
                if not q:
                    break

    def _start(self, job_id: int, node: SimNode) -> None:
        job = self.jobs[job_id]
        self._count_idle(node)
        node.running[job_id] = self.now
        node.cores += job.cores
        node.memory += job.memory
        node.disk += job.disk
        node.accelerators += job.accelerators
        self.where[job_id] = node.name
        self._push(self.now + job.runtime, _DONE, job_id, node.name)

    def _bill(self) -> None:
        self.result.launched = sum(1 for n in self.nodes.values() if not n.static)
        for node in self.nodes.values():
            hours = ((node.ended_at or self.now) - node.launched_at) / 3600
            label = f"{node.type.instance_type} {'spot' if node.type.preemptible else 'on-demand'}"
            self.result.node_hours[label] = self.result.node_hours.get(label, 0.0) + hours
            self.result.cost += hours * node.type.hourly
