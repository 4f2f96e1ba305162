"""Where a workflow stands, read from its job store without disturbing it (``toil status``, ``toil kill``).

A running leader rewrites the status file about once a second (monitor.py).
That file answers at once however large the workflow. When the leader is
gone without writing its final status (killed, crashed) the counts come
from replaying the journal instead, read-only.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NotRequired, TypedDict, TypeGuard

from toil.exceptions import JobStoreCorruptError, ToilUserError
from toil.lib.host import pid_alive
from toil.runtime.bulk import paused_gc
from toil.runtime.observe.snapshot import FailedJob, IssuedJob, LeaderInfo
from toil.runtime.scheduling import JobCounts, NodeStatus, WorkflowState

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

# A leader on another host is taken for alive while its status is this fresh.
REMOTE_ALIVE_SECONDS = 30.0


class StatusFile(TypedDict):
    """The status file as read here: a ``monitor.Snapshot`` as JSON; only ``state`` and ``counts`` are required
    (``_well_formed``), the rest is read with defaults."""

    state: str
    counts: JobCounts
    workflow_id: NotRequired[str]
    time: NotRequired[float]
    started: NotRequired[float]
    leader: NotRequired[LeaderInfo]
    cores_in_use: NotRequired[float]
    by_name: NotRequired[dict[str, dict[str, int]]]
    issued_jobs: NotRequired[list[IssuedJob]]
    failed_jobs: NotRequired[list[FailedJob]]
    batch_system: NotRequired[str]
    metrics_url: NotRequired[str | None]


@dataclass
class WorkflowStatus:
    """What ``toil status`` reports."""

    locator: str
    state: str  # running | completed | failed | stopped | crashed | not started
    leader: Mapping[str, object]  # pid, host of the leader that wrote the status (or the job store's leader record)
    leader_alive: bool
    counts: JobCounts
    failed_jobs: list[FailedJob] = field(default_factory=list)
    issued_jobs: list[IssuedJob] = field(default_factory=list)
    metrics_url: str | None = None
    batch_system: str = ""
    workflow_id: str = ""


def leader_alive(info: Mapping[str, object], status_time: float | None) -> bool:
    """Whether the leader named in the job store's leader record still runs."""
    if not info:
        return False
    if info.get("host") == socket.gethostname():
        pid = info.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or not 1 < pid < 2**31:
            return False  # a damaged record: 0 or -1 would name a process group, not a leader
        return pid_alive(pid)
    return status_time is not None and time.time() - status_time < REMOTE_ALIVE_SECONDS


def read_workflow_status(job_store: "JobStore") -> WorkflowStatus:
    """The workflow's status; a clear error if the job store does not exist or is not one of ours."""
    if not job_store.exists():
        raise ToilUserError(
            f"the job store {job_store.locator} does not exist (finished workflows are deleted "
            f"unless run with --clean never or --stats)"
        )
    meta = job_store.read_meta()
    raw = job_store.read_status()
    parsed: object = None
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
    # a damaged status file: the journal says the same, more slowly
    snap = parsed if _well_formed(parsed) else None
    info = job_store.leader_info()
    alive = leader_alive(info, snap.get("time") if snap else None)
    if snap is not None and (alive or snap.get("state") != "running"):
        return WorkflowStatus(
            job_store.locator,
            "running" if alive else str(snap["state"]),
            dict(snap.get("leader") or {}),
            alive,
            snap["counts"].copy(),
            list(snap.get("failed_jobs") or []),
            list(snap.get("issued_jobs") or []),
            snap.get("metrics_url"),
            str(snap.get("batch_system") or ""),
            str(snap.get("workflow_id") or meta.get("workflow_id") or ""),
        )
    return _status_from_journal(job_store, meta, info, alive)


def _well_formed(snap: object) -> TypeGuard[StatusFile]:
    """Whether a status file has the fields, of the types, that a leader writes."""
    return (
        isinstance(snap, dict)
        and isinstance(snap.get("state"), str)
        and isinstance(snap.get("counts"), dict)
        and isinstance(snap.get("time", 0), (int, float))
        and isinstance(snap.get("leader") or {}, dict)
        and all(isinstance(snap.get(k) or [], list) for k in ("failed_jobs", "issued_jobs"))
    )


def _status_from_journal(
    job_store: "JobStore", meta: dict[str, Any], info: dict[str, Any], alive: bool
) -> WorkflowStatus:
    """Counts by replaying the journal: for a leader that died without a last word, or has not written one."""
    state = replay(job_store)
    if state is None:
        return WorkflowStatus(
            job_store.locator,
            "running" if alive else "not started",
            info,
            alive,
            JobCounts(queued=0, issued=0, running=0, finished=0, failed=0, waiting=0, services=0),
            workflow_id=str(meta.get("workflow_id", "")),
        )
    counts = state.job_counts()
    if state.finished:
        outcome = "completed"
    elif alive:
        outcome = "running"
    else:
        outcome = "crashed" if info else ("failed" if state.failed else "stopped")
    failed: list[FailedJob] = [{"id": i, "label": label, "why": ""} for i, label in state.failed.items()]
    return WorkflowStatus(
        job_store.locator, outcome, info, alive, counts, failed, workflow_id=str(meta.get("workflow_id", ""))
    )


def _stored_retries(job_store: "JobStore") -> int:
    """The workflow's --retryCount, as its leader replays with (a retried failure is not a permanent one)."""
    try:
        stored = job_store.read_meta().get("config") or {}
        return int(stored.get("retryCount", 1))
    except (ToilUserError, TypeError, ValueError):
        return 1


def replay(job_store: "JobStore") -> WorkflowState | None:
    """The workflow's state from its snapshot and journal, without repairing or writing anything."""
    for _ in range(3):  # a leader may replace the snapshot while we read: read again
        with paused_gc():
            try:
                snapshot, records = job_store.journal().load(repair=False)
            except FileNotFoundError:
                continue
            retries = _stored_retries(job_store)
            state = WorkflowState.from_json(snapshot["state"], retries) if snapshot else WorkflowState(retries)
            if snapshot is None and not records:
                return None
            try:
                for rec in records:
                    state.apply(rec)
            except (KeyError, TypeError) as e:
                raise JobStoreCorruptError(f"the journal of {job_store.locator} is damaged ({e})") from None
        state.drain_effects()
        return state
    raise ToilUserError(f"the job store {job_store.locator} changed while being read three times; try again")


def status_name(code: int) -> str:
    return NodeStatus(code).label
