"""Snapshots and nodes for the dashboard's unit tests."""

from __future__ import annotations

from toil.runtime.observe.snapshot import NodeSample, Snapshot
from toil.runtime.scheduling import JobCounts


def node(name: str, node_type: str = "", state: str = "up", cpu: float = 1.0, memory_used: int = 1 << 30) -> NodeSample:
    return NodeSample(name, node_type, state, False, 4.0, cpu, 8 << 30, memory_used)


def snapshot(
    t: float,
    *,
    queued: int = 0,
    failed: int = 0,
    by_name: dict[str, dict[str, int]] | None = None,
    nodes: list[NodeSample] | None = None,
    state: str = "running",
) -> Snapshot:
    counts: JobCounts = {
        "queued": queued,
        "issued": 0,
        "running": 0,
        "finished": 0,
        "failed": failed,
        "waiting": 0,
        "services": 0,
    }
    return Snapshot(
        workflow_id="wf-1",
        state=state,
        time=t,
        started=0.0,
        leader={"pid": 1, "host": "h"},
        counts=counts,
        by_name=by_name or {},
        nodes=nodes or [],
    )
