"""The dashboard's time series: a ring buffer of samples of the leader's snapshots, and its JSON.

``SeriesBuffer.add`` keeps one ``Sample`` every ``interval`` seconds (at most ``capacity`` of them);
``SeriesBuffer.series`` lays them out as charts for the page (``GET /api/series``): one list of sample
times, and per chart one line per node, node type and state, or job name, its values aligned with the
times (``None`` where the line had no value then, e.g. a node not yet up).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from toil.runtime.observe.snapshot import NodeSample, Snapshot

SAMPLE_SECONDS = 2.0
CAPACITY = 1800  # an hour of samples, every two seconds
UNTYPED = "untyped"  # the label of nodes without a node type


@dataclass(frozen=True)
class Sample:
    """What the dashboard plots of one snapshot."""

    time: float
    queue: int
    failed_attempts: int  # job attempts failed since the leader started
    failed_jobs: int  # jobs failed for good
    issued: dict[str, int]  # job name -> issued jobs
    nodes: tuple[NodeSample, ...]

    @classmethod
    def of(cls, snapshot: Snapshot) -> Sample:
        return cls(
            time=snapshot.time,
            queue=snapshot.counts["queued"],
            failed_attempts=sum(entry.get("failed", 0) for entry in snapshot.by_name.values()),
            failed_jobs=snapshot.counts["failed"],
            issued={name: entry.get("issued", 0) for name, entry in snapshot.by_name.items()},
            nodes=tuple(snapshot.nodes),
        )


@dataclass
class Line:
    label: str
    values: list[float | None]


@dataclass
class Chart:
    id: str
    title: str
    unit: str  # "" (a count), "cores" or "bytes"
    lines: list[Line] = field(default_factory=list)


@dataclass
class Series:
    """The body of ``GET /api/series``."""

    workflow_id: str
    state: str
    interval: float
    now: float
    times: list[float]
    charts: list[Chart]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


def node_type_label(node_type: str) -> str:
    return node_type or UNTYPED


def _lines(
    samples: list[Sample], keys: Callable[[Sample], Iterable[str]], value: Callable[[Sample, str], float | None]
) -> list[Line]:
    """One line per key seen in any sample (in order of first sight), valued per sample."""
    order: dict[str, None] = {}
    for s in samples:
        order.update(dict.fromkeys(keys(s)))
    return [Line(key, [value(s, key) for s in samples]) for key in order]


def _node(sample: Sample, name: str) -> NodeSample | None:
    return next((n for n in sample.nodes if n.name == name), None)


def _node_value(attr: str) -> Callable[[Sample, str], float | None]:
    def value(sample: Sample, name: str) -> float | None:
        node = _node(sample, name)
        return None if node is None else float(getattr(node, attr))

    return value


def _kind(node: NodeSample) -> str:
    return f"{node_type_label(node.node_type)} {node.state}"


def charts(samples: list[Sample]) -> list[Chart]:
    """The dashboard's charts over these samples."""

    def node_names(s: Sample) -> list[str]:
        return [n.name for n in s.nodes]

    return [
        Chart("cpu", "CPU in use per node", "cores", _lines(samples, node_names, _node_value("cpu_used"))),
        Chart("memory", "RAM in use per node", "bytes", _lines(samples, node_names, _node_value("memory_used"))),
        Chart(
            "nodes",
            "Nodes by type and state",
            "",
            _lines(
                samples,
                lambda s: sorted({_kind(n) for n in s.nodes}),
                lambda s, kind: float(sum(1 for n in s.nodes if _kind(n) == kind)),
            ),
        ),
        Chart(
            "issued",
            "Issued jobs by name",
            "",
            _lines(samples, lambda s: sorted(s.issued), lambda s, name: float(s.issued.get(name, 0))),
        ),
        Chart(
            "failed",
            "Failed jobs",
            "",
            [
                Line("failed attempts", [float(s.failed_attempts) for s in samples]),
                Line("failed for good", [float(s.failed_jobs) for s in samples]),
            ],
        ),
        Chart("queue", "Queue size (jobs ready, not running)", "", [Line("queued", [float(s.queue) for s in samples])]),
    ]


class SeriesBuffer:
    """The last ``capacity`` samples, one every ``interval`` seconds; safe to read from another thread."""

    def __init__(self, interval: float = SAMPLE_SECONDS, capacity: int = CAPACITY) -> None:
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=capacity)
        self.workflow_id = ""
        self.state = "running"
        self._lock = threading.Lock()

    def add(self, snapshot: Snapshot, force: bool = False) -> bool:
        """Keep a sample of this snapshot if ``interval`` has passed since the last one (or ``force``)."""
        with self._lock:
            self.workflow_id, self.state = snapshot.workflow_id, snapshot.state
            if not force and self.samples and snapshot.time - self.samples[-1].time < self.interval:
                return False
            self.samples.append(Sample.of(snapshot))
            return True

    def series(self) -> Series:
        with self._lock:
            samples = list(self.samples)
            workflow_id, state = self.workflow_id, self.state
        return Series(workflow_id, state, self.interval, time.time(), [s.time for s in samples], charts(samples))
