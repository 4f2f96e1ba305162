"""What a running leader tells the outside: its status file, the progress bar and the metrics endpoint.

The leader calls ``job_ended`` for every job attempt it records and
``tick`` once per loop; about once a second (and at the end) the monitor
builds one ``Snapshot`` of the workflow and hands it to every sink:

* the status file in the job store (``toil status`` reads it, see status.py);
* a live progress bar on a terminal (progress.py);
* with ``--metrics``, a live dashboard and its Prometheus endpoint (metrics.py, dashboard.py).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from typing import TYPE_CHECKING

from toil.exceptions import InsufficientSystemResources
from toil.runtime.observe.snapshot import IssuedJob, NodeSample, PluggedSink, Sink, SinkFactory, Snapshot, WallTotals
from toil.runtime.observe.statsdata import JobStatLine
from toil.runtime.scheduling import attempt_resources

if TYPE_CHECKING:
    from toil.compiler.ir import Resources
    from toil.runtime.batch.base import BatchSystem
    from toil.runtime.config import Config
    from toil.runtime.jobstores.base import JobStore
    from toil.runtime.leader import Leader

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 1.0
LISTED_JOBS = 1000  # at most this many issued jobs are named in the status file
NODE_SECONDS = 2.0  # with --metrics, how often the batch system is asked for its nodes


class StatusFileSink:
    """Keeps the job store's status file current."""

    def __init__(self, job_store: "JobStore") -> None:
        self.job_store = job_store

    def publish(self, snapshot: Snapshot) -> None:
        try:
            self.job_store.write_status(snapshot.to_json())
        except OSError as e:  # a full disk must not stop the workflow for the sake of a status line
            log.debug("Cannot write the status file: %s", e)

    def close(self, snapshot: Snapshot) -> None:
        self.publish(snapshot)


class Monitor:
    """Counts job outcomes and publishes snapshots of the leader to its sinks."""

    def __init__(self, leader: "Leader", sinks: list[Sink]) -> None:
        self.leader = leader
        self.sinks = sinks
        self.completed: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.walls: dict[str, WallTotals] = {}
        self.started = time.time()
        self._last = 0.0
        self.metrics_url: str | None = None
        self.watch_nodes = False  # whether snapshots carry the batch system's nodes (the dashboard's, an autoscaler's)
        self.listed_jobs = LISTED_JOBS  # issued jobs named in a snapshot (all of them for an autoscaler)
        self.plugged: list[PluggedSink] = []  # the sinks installed packages added (they may refuse jobs too)
        self._nodes: list[NodeSample] = []
        self._nodes_asked = 0.0

    def admit(self, resources: Resources, label: str) -> None:
        """Raise InsufficientSystemResources if a plugged sink says the job can never run (no node type fits)."""
        for sink in self.plugged:
            said = sink.refuse(resources, label)
            if said:
                raise InsufficientSystemResources(said)

    def job_ended(self, stats: list[JobStatLine]) -> None:
        """Count the job attempts of one worker result (its ``stats`` entries)."""
        for s in stats:
            name = str(s.get("name") or s.get("display") or "?")
            (self.completed if s.get("ok") else self.failed)[name] += 1
            if s.get("ok"):
                totals = self.walls.setdefault(name, {"count": 0, "wall": 0.0})
                totals["count"] += 1
                totals["wall"] += float(s.get("wall") or 0.0)

    def tick(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < PUBLISH_SECONDS:
            return
        self._last = now
        snapshot = self.snapshot("running")
        for sink in self.sinks:
            sink.publish(snapshot)

    def close(self, state: str) -> None:
        snapshot = self.snapshot(state)
        if state != "completed":  # the leader is stopping: what it issued is being killed, not running
            c = snapshot.counts
            c["queued"] += c["running"]  # issued jobs not yet running are counted as queued already
            c["issued"] = c["running"] = 0
            snapshot.issued_jobs = []
            snapshot.cores_in_use = 0.0
        for sink in self.sinks:
            try:
                sink.close(snapshot)
            except Exception as e:  # noqa: BLE001 - reporting must never mask the workflow's own outcome
                log.debug("Monitor sink failed on close: %s", e)

    def snapshot(self, state: str) -> Snapshot:
        leader = self.leader
        wf = leader.state
        running = set(leader.batch.running_tokens())
        batch_ids = leader.batch.batch_ids()
        by_name: dict[str, dict[str, int]] = {}
        issued_jobs: list[IssuedJob] = []
        cores = 0.0
        for token, attempt in leader.issued.items():
            node_id = attempt.node_id
            node = wf.nodes.get(node_id)
            if node is None:
                continue
            name = node.spec.name or node.spec.display
            entry = by_name.setdefault(name, {"issued": 0, "running": 0, "completed": 0, "failed": 0})
            entry["issued"] += 1
            is_running = token in running
            if is_running:
                entry["running"] += 1
                cores += node.spec.resources.cores
            if len(issued_jobs) < self.listed_jobs:
                r = attempt_resources(node)
                issued_jobs.append(
                    {
                        "token": token,
                        "id": node_id,
                        "label": node.spec.label(),
                        "name": name,
                        "running": is_running,
                        "batch_id": batch_ids.get(token),
                        "cores": r.cores,
                        "memory": r.memory,
                        "disk": r.disk,
                        "accelerators": r.accelerator_count,
                        "preemptible": r.preemptible,
                    }
                )
        for name, n in self.completed.items():
            by_name.setdefault(name, {"issued": 0, "running": 0, "completed": 0, "failed": 0})["completed"] = n
        for name, n in self.failed.items():
            by_name.setdefault(name, {"issued": 0, "running": 0, "completed": 0, "failed": 0})["failed"] = n
        return Snapshot(
            workflow_id=str(leader.config.workflowID or ""),
            state=state,
            time=time.time(),
            started=self.started,
            leader={"pid": os.getpid(), "host": socket.gethostname()},
            counts=wf.job_counts(len(leader.issued), len(running)),
            cores_in_use=cores,
            by_name=by_name,
            issued_jobs=issued_jobs,
            failed_jobs=[
                {"id": i, "label": label, "why": leader.failure_notes.get(i, "")} for i, label in wf.failed.items()
            ],
            batch_system=leader.batch.name,
            metrics_url=self.metrics_url,
            nodes=self._watched_nodes(),
            walls={name: WallTotals(count=t["count"], wall=t["wall"]) for name, t in self.walls.items()},
        )

    def _watched_nodes(self) -> list[NodeSample]:
        """The batch system's nodes, asked for at most every NODE_SECONDS (the last answer in between)."""
        now = time.monotonic()
        if self.watch_nodes and now - self._nodes_asked >= NODE_SECONDS:
            self._nodes_asked = now
            try:
                self._nodes = [NodeSample.of(node) for node in self.leader.batch.nodes()]
            except Exception as e:  # noqa: BLE001 - a slow or failing engine must not stop the workflow
                log.debug("Cannot list the batch system's nodes: %s", e)
        return self._nodes


def make_monitor(leader: "Leader", config: "Config") -> Monitor:
    """A monitor with the sinks this run asks for."""
    sinks: list[Sink] = [StatusFileSink(leader.job_store)]
    monitor = Monitor(leader, sinks)
    if config.metrics:
        from toil.runtime.observe.metrics import MetricsSink

        metrics = MetricsSink(config.metricsPort)
        monitor.metrics_url = metrics.url
        monitor.watch_nodes = True
        sinks.append(metrics)
    from toil.runtime.observe.progress import ProgressSink, progress_wanted

    if progress_wanted(config):
        sinks.append(ProgressSink())
    for plugged in plugged_sinks(config, leader.batch):
        monitor.watch_nodes = True
        monitor.listed_jobs = max(monitor.listed_jobs, plugged.wants_jobs)
        monitor.plugged.append(plugged)
        sinks.append(plugged)
    return monitor


SINK_ENTRY_POINTS = "toil.leader_sinks"  # installed packages add sinks here (the autoscaler: provision/)


def plugged_sinks(config: "Config", batch: "BatchSystem") -> list[PluggedSink]:
    """The sinks installed packages give this run (each factory returns None when the run does not want it).

    The runtime never imports the cloud layer: it finds its sinks by entry point, as Toil finds plugins.
    """
    from importlib.metadata import entry_points

    found: list[PluggedSink] = []
    for entry in entry_points(group=SINK_ENTRY_POINTS):
        factory: SinkFactory = entry.load()
        sink = factory(config, batch)
        if sink is not None:
            found.append(sink)
    return found
