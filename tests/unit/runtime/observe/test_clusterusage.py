"""The cluster usage record: its round trip through the job store, and how `toil stats` and the HTML report show it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toil.cli import toil_stats
from toil.exceptions import ToilUserError
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.observe.clusterusage import (
    MESSAGE,
    ClusterUsage,
    NodeTypeUsage,
    read_cluster_usage,
    write_cluster_usage,
)
from toil.runtime.observe.stats_html import render_html
from toil.runtime.observe.statsdata import load_stats

USAGE = ClusterUsage(
    (
        NodeTypeUsage("t2.large", False, 1, 0.5, 0.0928, 0.0464),
        NodeTypeUsage("t2.large:0.05", True, 2, 0.02, 0.03248, 0.00065),
    ),
    0.04705,
    "offline table",
    1000.0,
)
JOB = {"id": "n1", "name": "work", "start": 1.0, "wall": 2.0, "cpu": 1.0, "maxrss": 1024, "ok": True}
RUN = {"t": "run", "attempt": 0, "start": 0.5, "batchSystem": "slurm"}


@pytest.fixture
def js(tmp_path: Path) -> FileJobStore:
    store = FileJobStore(str(tmp_path / "js"))
    store.create({"workflow_id": "w"})
    return store


def _stats(js: FileJobStore) -> None:
    js.append_stats([json.dumps(RUN).encode() + b"\n", json.dumps({**JOB, "pid": 1, "host": "h"}).encode() + b"\n"])


def _toil_stats(js: FileJobStore, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert toil_stats.main([js.locator, *extra]) == 0
    return capsys.readouterr().out


def test_the_record_round_trips_through_the_job_store(js: FileJobStore) -> None:
    assert read_cluster_usage(js) is None
    write_cluster_usage(js, USAGE)
    assert read_cluster_usage(js) == USAGE
    assert json.loads(js.read_message(MESSAGE))["version"] == 1


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"version": 99, "types": []}', b'{"version": 1}'])
def test_a_damaged_or_newer_record_is_ignored(js: FileJobStore, data: bytes) -> None:
    js.write_message(MESSAGE, data)
    assert read_cluster_usage(js) is None


def test_toil_stats_shows_node_hours_and_cost_after_the_job_table(
    js: FileJobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _stats(js)
    write_cluster_usage(js, USAGE)
    lines = _toil_stats(js, capsys).splitlines()
    assert lines[0] == "Batch System: slurm"
    assert lines[-3:] == [
        "Cluster: estimated cost $0.05 (prices: offline table)",
        "  t2.large (on-demand): 1 node, 0.50 node-hours at $0.0928/hour, $0.05",
        "  t2.large:0.05 (spot): 2 nodes, 0.02 node-hours at $0.0325/hour, $0.00",
    ]
    raw = json.loads(_toil_stats(js, capsys, "--raw"))
    assert raw["jobs"]["total_number"] == 1
    assert raw["cluster"]["total_cost"] == pytest.approx(0.04705)
    spot = raw["cluster"]["types"][1]
    assert spot == {
        "node_type": "t2.large:0.05",
        "preemptible": True,
        "nodes": 2,
        "node_hours": 0.02,
        "hourly": 0.03248,
        "cost": 0.00065,
    }


def test_toil_stats_shows_nothing_extra_without_a_record(js: FileJobStore, capsys: pytest.CaptureFixture[str]) -> None:
    _stats(js)
    assert "Cluster" not in _toil_stats(js, capsys)
    assert "cluster" not in json.loads(_toil_stats(js, capsys, "--raw"))


def test_a_run_without_stats_shows_only_its_cluster(js: FileJobStore, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ToilUserError, match="holds no statistics"):
        load_stats(js)
    write_cluster_usage(js, USAGE)
    assert _toil_stats(js, capsys).splitlines()[0].startswith("Cluster: estimated cost $0.05")
    assert json.loads(_toil_stats(js, capsys, "--raw"))["cluster"]["price_source"] == "offline table"


def test_the_html_report_has_a_cluster_section_only_with_a_record(js: FileJobStore) -> None:
    _stats(js)
    assert 'id="cluster"' not in render_html(load_stats(js), "t")
    write_cluster_usage(js, USAGE)
    page = render_html(load_stats(js), "t")
    assert 'id="cluster"' in page and "Estimated cost $0.05" in page
    assert "<td>t2.large:0.05</td><td>spot</td>" in page and '<td class="num">0.02</td>' in page
