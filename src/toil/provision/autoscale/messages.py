"""What the autoscaler says about jobs no node type can run: one line each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toil.provision.autoscale.policy import JobDemand, NodeChoice

GIB = 1024**3


def human_bytes(n: float) -> str:
    """1.5 GiB, 512 MiB: a size in one short word."""
    for unit, size in (("TiB", 1024**4), ("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n:g} B"


def unfit_message(job: JobDemand, choices: Sequence[NodeChoice]) -> str:
    """One line: the job, what it needs, and the largest node type."""
    needs = f"{job.cores:g} cores, {human_bytes(job.memory)} memory, {human_bytes(job.disk)} disk"
    if job.accelerators:
        needs += f", {job.accelerators} accelerators"
    if not job.preemptible:
        needs += ", not preemptible"
    if not choices:
        return f"job {job.name} needs {needs}: no node types are configured"
    big = max(choices, key=lambda c: (c.memory, c.cores, c.disk, not c.preemptible))
    spot = ", spot" if big.preemptible else ""
    return (
        f"job {job.name} needs {needs}: no node type fits it; the largest is {big.key} "
        f"({big.cores:g} cores, {human_bytes(big.memory)} memory, {human_bytes(big.disk)} disk{spot})"
    )
