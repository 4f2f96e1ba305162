"""The dashboard's ring buffer of samples and the JSON of ``GET /api/series``."""

from __future__ import annotations

import json

from tests.unit.runtime.observe.dashboard_fixtures import node, snapshot
from toil.runtime.batch.base import NodeInfo
from toil.runtime.observe.series import Chart, SeriesBuffer
from toil.runtime.observe.snapshot import NodeSample


def chart(charts: list[Chart], chart_id: str) -> dict[str, list[float | None]]:
    (found,) = [c for c in charts if c.id == chart_id]
    return {line.label: line.values for line in found.lines}


def test_one_sample_per_interval_and_at_most_capacity() -> None:
    buf = SeriesBuffer(interval=2.0, capacity=3)
    kept = [buf.add(snapshot(t)) for t in (0.0, 1.0, 2.0, 3.5, 4.0, 6.0, 8.0)]
    assert kept == [True, False, True, False, True, True, True]
    assert [s.time for s in buf.samples] == [4.0, 6.0, 8.0]  # the oldest fell out
    assert buf.add(snapshot(8.1), force=True) and len(buf.samples) == 3


def test_series_json_has_every_chart_aligned_with_the_times() -> None:
    buf = SeriesBuffer(interval=1.0)
    buf.add(snapshot(10.0, queued=5, by_name={"work": {"issued": 2, "failed": 0}}, nodes=[node("a", "t2.small")]))
    buf.add(
        snapshot(
            11.0,
            queued=3,
            failed=1,
            by_name={"work": {"issued": 4, "failed": 2}, "total": {"issued": 1}},
            nodes=[node("a", "t2.small", cpu=3.5), node("b", "t2.small", state="draining")],
        )
    )
    body = json.loads(buf.series().to_json())
    assert body["workflow_id"] == "wf-1" and body["state"] == "running" and body["times"] == [10.0, 11.0]
    assert [c["id"] for c in body["charts"]] == ["cpu", "memory", "nodes", "issued", "failed", "queue"]
    for c in body["charts"]:
        for line in c["lines"]:
            assert len(line["values"]) == 2, (c["id"], line)
    charts = buf.series().charts
    assert chart(charts, "cpu") == {"a": [1.0, 3.5], "b": [None, 1.0]}  # b was not up yet: a gap, not 0
    assert chart(charts, "memory") == {"a": [float(1 << 30)] * 2, "b": [None, float(1 << 30)]}
    assert chart(charts, "nodes") == {"t2.small up": [1.0, 1.0], "t2.small draining": [0.0, 1.0]}
    assert chart(charts, "issued") == {"work": [2.0, 4.0], "total": [0.0, 1.0]}
    assert chart(charts, "failed") == {"failed attempts": [0.0, 2.0], "failed for good": [0.0, 1.0]}
    assert chart(charts, "queue") == {"queued": [5.0, 3.0]}


def test_untyped_nodes_and_an_empty_buffer() -> None:
    assert all(not c.lines or all(not line.values for line in c.lines) for c in SeriesBuffer().series().charts)
    buf = SeriesBuffer()
    buf.add(snapshot(1.0, nodes=[node("host")]))
    assert chart(buf.series().charts, "nodes") == {"untyped up": [1.0]}


def test_node_sample_prefers_measured_usage_over_reservations() -> None:
    reserved = NodeInfo("n", cores=4, memory=100, used_cores=2, used_memory=50, node_type="m5.large")
    s = NodeSample.of(reserved)
    assert (s.cpu_used, s.memory_used, s.node_type) == (2, 50, "m5.large")
    measured = NodeInfo("n", cores=4, memory=100, used_cores=2, used_memory=50, cpu_busy=0.5, memory_busy=70)
    s = NodeSample.of(measured)
    assert (s.cpu_used, s.memory_used, s.node_type) == (0.5, 70, "")
