"""The typed messages that cross between leader, batch systems and workers, and the leader's effects.

Everything here may cross machines (a Kubernetes pod, a Mesos task, an EC2
node reading an object store), so each message has a versioned JSON form:
``to_json`` writes ``"v": PROTOCOL_VERSION``; ``from_json`` reads that version
(or an unversioned message of this version's shape, as earlier releases wrote)
and refuses a newer one in one line.

* ``Attempt``: one try of one node (node id + epoch); its ``token`` names it in
  batch systems and job stores.
* ``WorkerMessage``: what the leader hands a worker.
* ``WorkerResult``: what a worker leaves for the leader (``ResultProgress``: one
  line of a chain in progress in a warm worker's results log).
* Journal records (``FailRecord``, ``SvcStartedRecord``, ...): what the leader
  makes durable; ``ran`` records are ``RunRecord`` (compiler/ir.py).
* ``Effect``: what the scheduling state machine asks the leader to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from toil.compiler.ir import NodeSpec, Resources, decode_value, encode_value
from toil.exceptions import JobStoreCorruptError
from toil.runtime.observe.statsdata import JobStatLine

PROTOCOL_VERSION = 1
JsonDict = dict[str, Any]


def _check_version(data: JsonDict, what: str) -> None:
    version = data.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise JobStoreCorruptError(
            f"{what} of protocol version {version!r} (this version reads "
            f"{PROTOCOL_VERSION}): was it written by another version of Toil?"
        )


@dataclass(frozen=True)
class Attempt:
    """One try of one node: the node's id and its epoch (which try)."""

    node_id: str
    epoch: int

    @property
    def token(self) -> str:
        """The attempt's name in batch systems and job stores."""
        return f"{self.node_id}.{self.epoch}"

    @classmethod
    def from_token(cls, token: str) -> "Attempt | None":
        """The attempt a token names, or None if it names none (a damaged or foreign file)."""
        node_id, _, epoch = token.rpartition(".")
        if not node_id or not epoch.isdigit():
            return None
        return cls(node_id, int(epoch))

    def to_json(self) -> JsonDict:
        return {"id": self.node_id, "e": self.epoch}

    @classmethod
    def from_json(cls, data: JsonDict) -> "Attempt":
        return cls(str(data["id"]), int(data["e"]))


@dataclass(frozen=True)
class ChainHint:
    """The node's single next successor, so a worker may run it in the same process."""

    spec: JsonDict  # the successor's NodeSpec, as JSON (parsed only if the worker chains)
    npreds: int

    def to_json(self) -> list[JsonDict | int]:
        return [self.spec, self.npreds]

    @classmethod
    def from_json(cls, data: list[Any] | None) -> "ChainHint | None":
        return cls(dict(data[0]), int(data[1])) if data else None


@dataclass
class WorkerMessage:
    """What the leader hands a worker: the attempt to run, with what was allocated for it."""

    attempt: Attempt
    spec: NodeSpec
    alloc: Resources
    next: ChainHint | None = None
    main: str | None = None  # the leader's __main__ script, for workers in fresh processes
    # the return values the job (and the chain hint) read that the journal holds rather than the store
    values: dict[str, bytes] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        out: JsonDict = {
            "v": PROTOCOL_VERSION,
            "token": self.attempt.token,
            "epoch": self.attempt.epoch,
            "spec": self.spec.to_json(),
            "alloc": self.alloc.to_json(),
            "next": self.next.to_json() if self.next else None,
        }
        if self.main:
            out["main"] = self.main
        if self.values:
            out["vals"] = {k: encode_value(v) for k, v in self.values.items()}
        return out

    @classmethod
    def from_json(cls, data: JsonDict) -> "WorkerMessage":
        _check_version(data, "a worker message")
        spec = NodeSpec.from_json(data["spec"])
        return cls(
            Attempt(spec.id, int(data["epoch"])),
            spec,
            Resources.from_json(data["alloc"]),
            ChainHint.from_json(data.get("next")),
            data.get("main"),
            {str(k): decode_value(v) for k, v in data.get("vals", {}).items()},
        )


@dataclass
class FailedRun:
    """The run of a result that failed: which attempt, why, and whether retrying could help."""

    attempt: Attempt
    error: str = ""
    permanent: bool = False

    def to_json(self) -> JsonDict:
        return {**self.attempt.to_json(), "error": self.error, "permanent": self.permanent}

    @classmethod
    def from_json(cls, data: JsonDict) -> "FailedRun":
        return cls(Attempt.from_json(data), str(data.get("error", "")), bool(data.get("permanent")))


@dataclass
class WorkerResult:
    """What a worker leaves for the leader: the runs it finished (a chain may hold several), in order.

    ``runs`` are RunRecords as JSON (journaled as they are); ``running`` is the
    chained attempt in progress when the result was written part way;
    ``messages`` are (log level, text) for the leader's log; ``stats`` are
    ``toil stats`` lines.
    """

    token: str
    runs: list[JsonDict] = field(default_factory=list)
    messages: list[tuple[int, str]] = field(default_factory=list)
    stats: list[JobStatLine] = field(default_factory=list)
    failed: FailedRun | None = None
    running: Attempt | None = None

    @property
    def attempt(self) -> Attempt | None:
        return Attempt.from_token(self.token)

    def to_json(self) -> JsonDict:
        out: JsonDict = {
            "v": PROTOCOL_VERSION,
            "token": self.token,
            "runs": self.runs,
            "messages": [list(m) for m in self.messages],
            "stats": self.stats,
        }
        if self.failed is not None:
            out["failed"] = self.failed.to_json()
        if self.running is not None:
            out["running"] = self.running.to_json()
        return out

    @classmethod
    def from_json(cls, data: JsonDict) -> "WorkerResult":
        _check_version(data, "a worker result")
        failed, running = data.get("failed"), data.get("running")
        return cls(
            str(data["token"]),
            list(data.get("runs", ())),
            [(int(level), str(text)) for level, text in data.get("messages", ())],
            list(data.get("stats", ())),
            FailedRun.from_json(failed) if failed else None,
            Attempt.from_json(running) if running else None,
        )


@dataclass
class ResultProgress:
    """One finished run of a chain still in progress, as a warm worker appends it to its results log."""

    token: str
    run: JsonDict
    running: Attempt | None

    def to_json(self) -> JsonDict:
        return {
            "v": PROTOCOL_VERSION,
            "token": self.token,
            "part": 1,
            "run": self.run,
            "running": self.running.to_json() if self.running else None,
        }

    @staticmethod
    def is_progress(data: JsonDict) -> bool:
        return bool(data.get("part"))

    @classmethod
    def from_json(cls, data: JsonDict) -> "ResultProgress":
        _check_version(data, "a worker's progress record")
        running = data.get("running")
        return cls(str(data["token"]), dict(data["run"]), Attempt.from_json(running) if running else None)


def gather_results(lines: list[JsonDict]) -> dict[str, WorkerResult]:
    """Whole results by token from a results log: a whole result wins; progress lines add up otherwise."""
    found: dict[str, WorkerResult] = {}
    for data in lines:
        if "token" not in data:
            continue
        if ResultProgress.is_progress(data):
            part = ResultProgress.from_json(data)
            so_far = found.setdefault(part.token, WorkerResult(part.token))
            so_far.runs.append(part.run)
            so_far.running = part.running
        else:
            result = WorkerResult.from_json(data)
            found[result.token] = result
    return found


# ---------------------------------------------------------------------- journal records
@dataclass
class FailRecord:
    """An attempt failed. ``counts``: it uses up a try (not when killed or lost with its node);
    ``permanent``: retrying cannot help; ``memory``: ask for this much next time (after an OOM kill)."""

    attempt: Attempt
    counts: bool = True
    permanent: bool = False
    memory: int | None = None

    def to_json(self) -> JsonDict:
        out: JsonDict = {"t": "fail", **self.attempt.to_json(), "counts": self.counts, "permanent": self.permanent}
        if self.memory:
            out["memory"] = self.memory
        return out

    @classmethod
    def from_json(cls, data: JsonDict) -> "FailRecord":
        memory = data.get("memory")
        return cls(
            Attempt.from_json(data),
            bool(data.get("counts", True)),
            bool(data.get("permanent")),
            int(memory) if memory else None,
        )


@dataclass
class SvcStartedRecord:
    """A service job said it started."""

    node_id: str

    def to_json(self) -> JsonDict:
        return {"t": "svc_started", "id": self.node_id}


@dataclass
class ResetRecord:
    """A checkpoint's subtree is quiet: restart the checkpoint."""

    node_id: str

    def to_json(self) -> JsonDict:
        return {"t": "reset", "id": self.node_id}


@dataclass
class ReviveRecord:
    """A restart gives failed jobs their tries back."""

    def to_json(self) -> JsonDict:
        return {"t": "revive"}


JournalRecord = Union[FailRecord, SvcStartedRecord, ResetRecord, ReviveRecord]


# ---------------------------------------------------------------------- effects
@dataclass
class DeleteFiles:
    """Delete these global files (their owners' runs are recorded)."""

    file_ids: list[str]


@dataclass
class StopServices:
    """Ask these services to stop."""

    node_ids: list[str]


@dataclass
class KillNodes:
    """Kill the running attempts of these nodes (a checkpoint's subtree being reset)."""

    node_ids: list[str]


@dataclass
class ScheduleRetry:
    """The node failed and is retried: wait out the backoff of retry number ``attempt``."""

    node_id: str
    attempt: int


@dataclass
class RecordToJournal:
    """Make this record durable too (and apply it)."""

    record: JournalRecord


Effect = Union[DeleteFiles, StopServices, KillNodes, ScheduleRetry, RecordToJournal]
