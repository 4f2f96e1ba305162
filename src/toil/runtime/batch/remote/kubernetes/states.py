"""What a pod's status means for its job: Kubernetes' words in, the remote base's ``JobState`` out.

``PodView`` is the little of a ``V1Pod`` that matters, taken from each watch event; ``job_state`` judges it
(pure, so unit-tested with made-up pods). The pod timeout turns a pod that cannot be scheduled or started
into a failure naming Kubernetes' reason; evictions, deletions and lost nodes are "lost" (issued again
without spending a retry); an OOMKilled container is "oom".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from toil.runtime.batch.remote.base import JobState, one_line
from toil.runtime.batch.remote.kubernetes.specs import CONTAINER_NAME

# Waiting reasons that never resolve by themselves: fail at once rather than after the timeout.
HOPELESS_WAITING = {"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"}
# Waiting reasons that may resolve (a registry hiccup): fail when the pod timeout passes.
STUCK_WAITING = {"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerError", "RunContainerError"}


@dataclass(frozen=True)
class PodView:
    """One pod of a workflow's Job, as the watch last saw it."""

    name: str
    job_name: str
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    created: float  # seconds since the epoch
    reason: str = ""  # the pod's status reason (Evicted, NodeLost, ...)
    message: str = ""
    node: str = ""
    unschedulable: str = ""  # the scheduler's message while PodScheduled is False
    waiting: str = ""  # the worker container's waiting reason
    waiting_message: str = ""
    exit_code: int | None = None
    terminated_reason: str = ""  # OOMKilled, Error, Completed, ...
    deleted: bool = False  # the pod is being (or was) deleted

    @classmethod
    def from_pod(cls, pod: Any, deleted: bool = False) -> PodView:
        """From a ``kubernetes.client.V1Pod``."""
        meta, status = pod.metadata, pod.status
        view: dict[str, Any] = {
            "name": meta.name,
            "job_name": (meta.labels or {}).get("job-name", ""),
            "phase": (status.phase if status else None) or "Pending",
            "created": meta.creation_timestamp.timestamp() if meta.creation_timestamp else 0.0,
            "reason": (status.reason if status else None) or "",
            "message": (status.message if status else None) or "",
            "node": (pod.spec.node_name if pod.spec else None) or "",
            "deleted": deleted or meta.deletion_timestamp is not None,
        }
        for cond in (status.conditions if status else None) or []:
            if cond.type == "PodScheduled" and cond.status == "False":
                view["unschedulable"] = one_line(cond.message or cond.reason or "Unschedulable")
        for cs in (status.container_statuses if status else None) or []:
            if cs.name != CONTAINER_NAME or cs.state is None:
                continue
            if cs.state.waiting is not None:
                view["waiting"] = cs.state.waiting.reason or ""
                view["waiting_message"] = one_line(cs.state.waiting.message or "")
            if cs.state.terminated is not None:
                view["exit_code"] = cs.state.terminated.exit_code
                view["terminated_reason"] = cs.state.terminated.reason or ""
        return cls(**view)

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


def job_state(batch_id: str, pod: PodView | None, now: float, pod_timeout: float, killed: bool = False) -> JobState:
    """The state of the Job ``batch_id`` from its pod (None: no pod yet)."""
    if pod is None:
        return JobState(batch_id, "pending")
    if pod.phase == "Succeeded":
        return JobState(batch_id, "done", 0)
    if pod.terminated_reason == "OOMKilled":
        return JobState(
            batch_id, "oom", pod.exit_code, "Kubernetes killed the pod for exceeding its memory (OOMKilled)"
        )
    if pod.phase == "Failed":
        if pod.reason == "Evicted" and "exceeds the" in pod.message:
            # the job wrote more than its disk (ephemeral-storage limit): its own doing, like running out of memory
            return JobState(batch_id, "failed", 1, one_line(f"Kubernetes evicted pod {pod.name}: {pod.message}"))
        if pod.reason in ("Evicted", "Preempting", "NodeLost", "Shutdown", "Terminated", "NodeShutdown"):
            return JobState(batch_id, "lost", None, f"Kubernetes {pod.reason.lower()} pod {pod.name}: {pod.message}")
        if pod.exit_code is None:
            return JobState(
                batch_id, "lost", None, f"pod {pod.name} failed without running: {pod.reason or pod.message}"
            )
        return JobState(batch_id, "failed", pod.exit_code, f"pod {pod.name} exited with status {pod.exit_code}")
    if pod.deleted:
        state = "cancelled" if killed else "lost"
        return JobState(batch_id, state, None, f"pod {pod.name} was deleted before its job finished")
    if pod.phase == "Unknown":
        return JobState(batch_id, "lost", None, f"pod {pod.name} lost contact with its node {pod.node}")
    if pod.phase == "Running":
        return JobState(batch_id, "running")
    return _pending(batch_id, pod, now, pod_timeout)


def _pending(batch_id: str, pod: PodView, now: float, pod_timeout: float) -> JobState:
    """A pod not yet running: still pending, or stuck past the pod timeout (or hopeless) with Kubernetes' reason."""
    if pod.waiting in HOPELESS_WAITING:
        return _never(batch_id, pod, f"{pod.waiting}: {pod.waiting_message}")
    if now - pod.created < pod_timeout:
        return JobState(batch_id, "pending")
    if pod.unschedulable and not waits_for_room(pod.unschedulable):
        return _never(batch_id, pod, f"FailedScheduling: {pod.unschedulable}")
    if pod.waiting in STUCK_WAITING:
        return _never(batch_id, pod, f"{pod.waiting}: {pod.waiting_message}")
    return JobState(batch_id, "pending")


def waits_for_room(message: str) -> bool:
    """Whether the scheduler's message says only that the nodes are busy ("0/1 nodes are available: 1
    Insufficient cpu."): the pod waits its turn. Any other reason (affinity, taints, a missing volume) will
    not go away by waiting. Jobs larger than every node were refused when they were submitted."""
    _, _, reasons = message.partition(":")
    parts = [p.strip() for p in reasons.split(",") if p.strip()]
    return bool(parts) and all(re.sub(r"^\d+\s+", "", p).startswith(("Insufficient", "Too many pods")) for p in parts)


def _never(batch_id: str, pod: PodView, why: str) -> JobState:
    """A pod that cannot start as asked: the job fails for good (a retry would wait just the same)."""
    text = one_line(f"Kubernetes could not start pod {pod.name}: {why.rstrip(': ')}")
    return JobState(batch_id, "failed", 1, text, permanent=True)


def no_pod_state(batch_id: str, age: float, pod_timeout: float, events: list[str]) -> JobState:
    """A Job with no pod: Kubernetes refused to make one (an unknown service account, a quota) or is slow."""
    if age < pod_timeout:
        return JobState(batch_id, "pending")
    why = "; ".join(events[-1:]) or "no pod was created"
    return JobState(
        batch_id, "failed", 1, one_line(f"Kubernetes made no pod for job {batch_id}: {why}"), permanent=True
    )
