"""What the Mesos batch system decides without the master: which offers fit which tasks, and what task states mean.

An offer's resources are scalars named ``cpus``, ``mem`` (MiB), ``disk`` (MiB) and ``gpus``; an agent carrying
the attribute ``preemptible:True`` (Toil's cluster bootstrap marks spot nodes so) takes only preemptible jobs,
any other agent takes any job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from toil.compiler.ir import Resources
from toil.runtime.batch.remote.base import JobState

MIB = 2**20
# The least memory a task gets: the worker's interpreter and libraries before the job does anything.
MIN_TASK_MEMORY = 256 * MIB


@dataclass(frozen=True)
class Shape:
    """Resources in Mesos' units: cores, MiB of memory and disk, GPUs."""

    cpus: float = 0.0
    mem: float = 0.0
    disk: float = 0.0
    gpus: float = 0.0

    def fits_in(self, other: Shape) -> bool:
        eps = 1e-9
        return (
            self.cpus <= other.cpus + eps
            and self.mem <= other.mem + eps
            and self.disk <= other.disk + eps
            and self.gpus <= other.gpus + eps
        )

    def minus(self, other: Shape) -> Shape:
        return Shape(self.cpus - other.cpus, self.mem - other.mem, self.disk - other.disk, self.gpus - other.gpus)

    def describe(self) -> str:
        gpus = f", {self.gpus:g} GPU(s)" if self.gpus else ""
        return f"{self.cpus:g} core(s), {self.mem:g} MiB memory, {self.disk:g} MiB disk{gpus}"


def task_shape(resources: Resources) -> Shape:
    """What a job asks of an agent, in Mesos' units (memory never below what a worker needs to start)."""
    return Shape(
        cpus=max(resources.cores, 0.01),
        mem=float(math.ceil(max(resources.memory, MIN_TASK_MEMORY) / MIB)),
        disk=float(math.ceil(resources.disk / MIB)),
        gpus=float(resources.accelerator_count),
    )


def scalar_resources(resources: list[dict[str, Any]]) -> Shape:
    """The scalar resources of an offer (or a task), summed over roles."""
    found = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
    for r in resources:
        if r.get("type", "SCALAR") == "SCALAR" and r.get("name") in found:
            found[r["name"]] += float(r.get("scalar", {}).get("value", 0.0))
    return Shape(found["cpus"], found["mem"], found["disk"], found["gpus"])


def is_preemptible(attributes: list[dict[str, Any]] | dict[str, Any]) -> bool:
    """Whether an agent's attributes mark it preemptible (``preemptible:True``): a list of Mesos Attribute
    messages, as offers carry them, or the name-to-value map /master/slaves gives. Absent means not."""
    if isinstance(attributes, dict):
        value: Any = attributes.get("preemptible")
    else:
        value = None
        for a in attributes:
            if a.get("name") == "preemptible":
                value = a.get("text", {}).get("value", a.get("scalar", {}).get("value"))
    return str(value).strip().lower() in ("true", "1", "yes")


def may_run(job_preemptible: bool, agent_preemptible: bool) -> bool:
    """A preemptible agent takes only preemptible jobs; any other takes any job."""
    return job_preemptible or not agent_preemptible


@dataclass
class PendingTask:
    """A task waiting for an offer."""

    task_id: str
    shape: Shape
    preemptible: bool
    info: dict[str, Any]  # the TaskInfo, without agent_id and resources (added when launched)


@dataclass
class Offer:
    offer_id: str
    agent_id: str
    hostname: str
    available: Shape
    preemptible: bool
    resources: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, offer: dict[str, Any]) -> Offer:
        return cls(
            offer["id"]["value"],
            offer["agent_id"]["value"],
            offer.get("hostname", ""),
            scalar_resources(offer.get("resources", [])),
            is_preemptible(offer.get("attributes", [])),
            offer.get("resources", []),
        )


def match(offer: Offer, pending: list[PendingTask]) -> list[PendingTask]:
    """The pending tasks (in order, first come first served) that this offer can run together."""
    left, chosen = offer.available, []
    for task in pending:
        if may_run(task.preemptible, offer.preemptible) and task.shape.fits_in(left):
            chosen.append(task)
            left = left.minus(task.shape)
    return chosen


def task_resources(shape: Shape, offer_resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Resource messages a task takes from an offer, in the offer's role (``*`` when it names none)."""
    roles = {r.get("name"): r.get("role") or (r.get("allocation_info") or {}).get("role") for r in offer_resources}
    allocation = {r.get("name"): r.get("allocation_info") for r in offer_resources if r.get("allocation_info")}
    out = []
    for name, value in (("cpus", shape.cpus), ("mem", shape.mem), ("disk", shape.disk), ("gpus", shape.gpus)):
        if value <= 0:
            continue
        r: dict[str, Any] = {"name": name, "type": "SCALAR", "scalar": {"value": round(value, 3)}}
        if roles.get(name) and roles[name] != "*" and "allocation_info" not in (allocation.get(name) or {}):
            r["role"] = roles[name]
        if allocation.get(name):
            r["allocation_info"] = allocation[name]
        out.append(r)
    return out


# ------------------------------------------------------------------ task states
RUNNING = {"TASK_RUNNING", "TASK_KILLING"}
PENDING = {"TASK_STAGING", "TASK_STARTING"}
LOST = {"TASK_LOST", "TASK_GONE", "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"}
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR"} | LOST
OOM_REASONS = {"REASON_CONTAINER_LIMITATION_MEMORY"}
_EXIT = re.compile(r"exited with status (\d+)|exit(?:ed)? (?:code|status) (\d+)", re.IGNORECASE)


def exit_code(message: str) -> int:
    """The command's exit status, as the command executor words it (``Command exited with status 3``); else 1."""
    m = _EXIT.search(message or "")
    return int(m.group(1) or m.group(2)) if m else 1


def job_state(task_id: str, status: dict[str, Any]) -> JobState:
    """A TaskStatus as the remote base reads states."""
    state = status.get("state", "TASK_UNKNOWN")
    reason = status.get("reason", "")
    message = status.get("message", "")
    said = f"{state}" + (f" ({reason})" if reason else "") + (f": {message}" if message else "")
    if state in PENDING:
        return JobState(task_id, "pending")
    if state in RUNNING:
        return JobState(task_id, "running")
    if state == "TASK_FINISHED":
        return JobState(task_id, "done", 0)
    if state == "TASK_FAILED" and reason in OOM_REASONS:
        return JobState(task_id, "oom", None, f"Mesos killed the task for exceeding its memory: {said}")
    if state == "TASK_FAILED":
        return JobState(task_id, "failed", exit_code(message), f"Mesos task {said}")
    if state == "TASK_KILLED":
        return JobState(task_id, "cancelled", None, f"Mesos task {said}")
    if state == "TASK_ERROR":  # the task as described can never launch
        return JobState(task_id, "failed", 1, f"Mesos refused the task: {said}", permanent=True)
    return JobState(task_id, "lost", None, f"Mesos task {said}")
