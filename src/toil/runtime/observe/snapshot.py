"""What a running leader publishes about its workflow, once a second: one ``Snapshot``, handed to every ``Sink``.

The monitor (monitor.py) builds snapshots; sinks (the status file, the
progress bar, the metrics endpoint, the autoscaler) consume them
and never reach into the leader.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Protocol, TypedDict

from toil.runtime.scheduling import JobCounts

if TYPE_CHECKING:
    from toil.compiler.ir import Resources
    from toil.runtime.batch.base import BatchSystem, NodeInfo
    from toil.runtime.config import Config


class LeaderInfo(TypedDict):
    """The leader that wrote a snapshot."""

    pid: int
    host: str


class IssuedJob(TypedDict):
    """A job attempt out with the batch system."""

    token: str
    id: str
    label: str
    name: str
    running: bool
    batch_id: str | None  # the batch system's id of it, when it tells
    cores: float  # what it asked for (an autoscaler packs these shapes onto node types)
    memory: int  # bytes
    disk: int  # bytes
    accelerators: int
    preemptible: bool


class WallTotals(TypedDict):
    """Finished attempts of one job name and their summed wall time (seconds), since the leader started."""

    count: int
    wall: float


class FailedJob(TypedDict):
    """A job that failed for good."""

    id: str
    label: str
    why: str  # the last attempt's error ("" when not known)


@dataclass(frozen=True)
class NodeSample:
    """One node at one moment: its shape and what is in use of it."""

    name: str
    node_type: str
    state: str
    preemptible: bool
    cores: float
    cpu_used: float  # cores busy as measured, else cores reserved by its jobs
    memory: int  # bytes
    memory_used: int  # bytes in use as measured, else reserved by its jobs

    @classmethod
    def of(cls, node: NodeInfo) -> NodeSample:
        return cls(
            name=node.name,
            node_type=node.node_type,
            state=node.state,
            preemptible=node.preemptible,
            cores=node.cores,
            cpu_used=node.used_cores if node.cpu_busy is None else node.cpu_busy,
            memory=node.memory,
            memory_used=node.used_memory if node.memory_busy is None else node.memory_busy,
        )


@dataclass
class Snapshot:
    """The workflow as the leader sees it at one moment."""

    workflow_id: str
    state: str  # running | completed | failed | stopped
    time: float
    started: float
    leader: LeaderInfo
    counts: JobCounts
    cores_in_use: float = 0.0
    by_name: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> issued/running/completed/failed
    issued_jobs: list[IssuedJob] = field(default_factory=list)
    failed_jobs: list[FailedJob] = field(default_factory=list)
    batch_system: str = ""
    metrics_url: str | None = None
    nodes: list[NodeSample] = field(default_factory=list)  # with --metrics or --provisioner: the batch system's
    walls: dict[str, WallTotals] = field(default_factory=dict)  # by job name: how long such jobs take

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


class Sink(Protocol):
    def publish(self, snapshot: Snapshot) -> None: ...

    def close(self, snapshot: Snapshot) -> None: ...


class PluggedSink(Sink, Protocol):
    """A sink an installed package adds (an autoscaler): it sees every node and up to ``wants_jobs`` issued jobs,
    and may refuse a job that could never run (one line saying why), before the job is issued."""

    wants_jobs: int

    def refuse(self, resources: Resources, label: str) -> str | None: ...


class SinkFactory(Protocol):
    """An entry point of the group ``toil.leader_sinks``: the sink for this run, or None."""

    def __call__(self, config: Config, batch: BatchSystem) -> PluggedSink | None: ...
