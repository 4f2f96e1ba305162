"""What ``--stats`` records, read back and summarised for ``toil stats`` and its HTML report.

The job store's stats log (``JobStore.append_stats``) holds one JSON object
per line: a ``{"t": "run", ...}`` line when a leader starts (batch system,
job defaults), a ``{"t": "end", ...}`` line when it stops, and one line per
job attempt (no ``t``) written by the leader from the worker's result::

    {"id", "name", "display" (when not the name), "start", "wall", "cpu", "maxrss" (KiB), "ok", "pid",
     "host", "next": [successor ids], "container" (when the job ran a container: "ENGINE IMAGE")}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, NotRequired, TypedDict

from toil.exceptions import ToilUserError
from toil.runtime.observe.clusterusage import ClusterUsage, read_cluster_usage

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

FIELDS = ("time", "clock", "wait", "memory")


class JobStatLine(TypedDict):
    """The line of one job attempt, as the worker writes it (worker._job_stats; keys in this order)."""

    id: str
    name: str
    start: float
    wall: float
    cpu: float
    maxrss: int  # KiB, the job's tools included
    ok: bool
    pid: int
    host: str
    next: list[str]  # successor ids
    display: NotRequired[str]  # when not the name
    container: NotRequired[str]  # "ENGINE IMAGE, ..." of the containers the job ran, if any


class RunStatLine(TypedDict, total=False):
    """The line a leader writes when it starts (Leader.run). Read back with ``get``: a log written by another
    version may lack a field."""

    t: Literal["run"]
    attempt: int
    start: float
    batchSystem: str
    defaultCores: float
    defaultMemory: int
    maxCores: float


class EndStatLine(TypedDict, total=False):
    """The line a leader writes when it stops (Leader.run), read back like RunStatLine."""

    t: Literal["end"]
    attempt: int
    end: float
    outcome: str  # completed | failed | stopped
    leader_cpu: float


@dataclass(slots=True)
class JobStat:
    """One attempt of one job."""

    id: str
    name: str
    display: str
    start: float
    wall: float
    cpu: float
    maxrss_kib: int
    ok: bool
    worker: str  # host:pid of the process that ran it
    next: list[str] = field(default_factory=list)
    container: str = ""  # "ENGINE IMAGE" of the containers it ran, if any

    @property
    def wait(self) -> float:
        return self.wall - self.cpu

    @property
    def end(self) -> float:
        return self.start + self.wall

    def value(self, field_name: str) -> float:
        return float(_VALUE[field_name](self))


_VALUE: dict[str, Callable[[JobStat], float]] = {
    "time": lambda j: j.wall,
    "clock": lambda j: j.cpu,
    "wait": lambda j: j.wall - j.cpu,
    "memory": lambda j: j.maxrss_kib * 1024,
}


@dataclass
class Summary:
    """min / median / average / max / total of one measure over a set of jobs."""

    min: float
    med: float
    ave: float
    max: float
    total: float

    @classmethod
    def of(cls, values: list[float]) -> "Summary":
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0)
        ordered = sorted(values)
        n = len(ordered)
        med = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        total = sum(ordered)
        return cls(ordered[0], med, total / n, ordered[-1], total)


@dataclass
class Category:
    """The jobs of one kind (a job name, or all jobs) and their summaries."""

    name: str
    count: int
    summaries: dict[str, Summary]

    @classmethod
    def of(cls, name: str, jobs: list[JobStat]) -> "Category":
        return cls(name, len(jobs), {f: Summary.of(list(map(_VALUE[f], jobs))) for f in FIELDS})


@dataclass
class WorkflowStats:
    """Everything ``--stats`` recorded for a workflow (over all its leader runs)."""

    runs: list[RunStatLine]
    ends: list[EndStatLine]
    jobs: list[JobStat]
    _workers: dict[str, list[JobStat]] | None = None
    cluster: ClusterUsage | None = None  # the nodes an autoscaled run used and their cost (clusterusage.py)

    @property
    def settings(self) -> RunStatLine:
        """The first run's settings: batch system and job defaults."""
        return self.runs[0] if self.runs else {}

    def total_runtime(self) -> float:
        """Wall time of the leader runs (a run still going counts up to its last job)."""
        total = 0.0
        ends = {e.get("attempt"): e for e in self.ends}
        last_job_end = max((j.end for j in self.jobs), default=0.0)
        not_ended: EndStatLine = {}
        for run in self.runs:
            end = ends.get(run.get("attempt"), not_ended).get("end", last_job_end)
            total += max(0.0, float(end) - float(run.get("start", end)))
        return total

    def workers(self) -> dict[str, list[JobStat]]:
        """Jobs grouped by the worker process that ran them, in start order."""
        if self._workers is None:
            self._workers = {}
            for j in sorted(self.jobs, key=lambda j: j.start):
                self._workers.setdefault(j.worker, []).append(j)
        return self._workers

    def by_name(self) -> dict[str, list[JobStat]]:
        out: dict[str, list[JobStat]] = {}
        for j in self.jobs:
            out.setdefault(j.name or j.display, []).append(j)
        return out

    def worker_category(self) -> Category:
        """One entry per worker process: its busy time, CPU, wait and peak memory."""
        stats = []
        for worker, jobs in self.workers().items():
            stats.append(
                JobStat(
                    worker,
                    "worker",
                    worker,
                    jobs[0].start,
                    sum(j.wall for j in jobs),
                    sum(j.cpu for j in jobs),
                    max(j.maxrss_kib for j in jobs),
                    True,
                    worker,
                )
            )
        return Category.of("Worker", stats)


def parse_stats(lines: Iterable[bytes], source: str = "stats") -> WorkflowStats:
    """Parse the stats log; a damaged last line (a leader killed mid-write) is skipped."""
    data = b"".join(lines)
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]  # a torn last line
    body = data.strip().replace(b"\n", b",")
    try:
        records = json.loads(b"[" + body + b"]")  # one C-speed parse of the whole log
    except ValueError:
        records = _parse_lines(data, source)
    runs: list[RunStatLine] = []
    ends: list[EndStatLine] = []
    jobs: list[JobStat] = []
    for number, d in enumerate(records, 1):
        try:
            kind = d.get("t")
            if kind == "run":
                runs.append(d)
            elif kind == "end":
                ends.append(d)
            else:  # the leader wrote these types; a damaged log fails the checks below
                name = d.get("name") or ""
                jobs.append(
                    JobStat(
                        d["id"],
                        name,
                        d.get("display") or name or d["id"],
                        d["start"],
                        d["wall"],
                        d["cpu"],
                        d.get("maxrss", 0),
                        d.get("ok", True),
                        f"{d.get('host', '')}:{d.get('pid', 0)}",
                        d.get("next") or [],
                        str(d.get("container") or ""),
                    )
                )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ToilUserError(f"{source}, record {number}: not a stats record; the stats log is damaged") from None
    try:
        sum(j.start + j.wall + j.cpu + j.maxrss_kib for j in jobs)
    except TypeError:
        raise ToilUserError(
            f"{source}: a job record has a non-numeric time or memory; the stats log is damaged"
        ) from None
    return WorkflowStats(runs, ends, jobs)


def _parse_lines(data: bytes, source: str) -> list[Any]:
    """Line by line, to name the damaged line (the records are checked as they are read, in parse_stats)."""
    out: list[Any] = []
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                raise ToilUserError(f"{source}, line {number}: not JSON; the stats log is damaged") from None
    return out


def load_stats(job_store: "JobStore") -> WorkflowStats:
    """The recorded stats of a job store and its cluster usage; a clear error when the run recorded neither."""
    data = job_store.read_stats()
    cluster = read_cluster_usage(job_store)
    if data is None and cluster is None:
        raise ToilUserError(
            f"the job store {job_store.locator} holds no statistics: run the workflow with --stats to record them"
        )
    from toil.runtime.bulk import paused_gc

    with paused_gc():
        stats = parse_stats([data or b""], source=f"{job_store.locator} stats")
    stats.cluster = cluster
    return stats
