"""The --metrics dashboard on a real run: the leader serves the page, headless Chromium loads it and its
charts draw points from the live series while the workflow runs, and /metrics carries the node series."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.chromium import run_chromium
from tests.integration.test_toil_status import SCRIPT, toil, wait_for
from toil.runtime.observe.metrics import scrape

pytestmark = pytest.mark.integration
QUIET = ["--logLevel", "WARNING", "--retryCount", "0"]
CHARTS = ("cpu", "memory", "nodes", "issued", "failed", "queue")


def series(dashboard: str) -> dict:
    with urllib.request.urlopen(dashboard + "api/series", timeout=10) as r:
        return json.loads(r.read())


def values(body: dict, chart_id: str) -> list[float]:
    (chart,) = [c for c in body["charts"] if c["id"] == chart_id]
    return [v for line in chart["lines"] for v in line["values"] if v is not None]


def figures(dom: str) -> dict[str, dict[str, str]]:
    """The dumped page's charts: id -> their data-* attributes."""
    out = {}
    for tag in re.findall(r'<figure class="chart"[^>]*>', dom):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        out[attrs["id"].removeprefix("chart-")] = attrs
    return out


def test_dashboard_draws_live_series_in_chromium(tmp_path: Path) -> None:
    js, go = tmp_path / "js", tmp_path / "ctl"
    go.mkdir()
    # six one-core jobs, two at a time (two cores), 8 s each; work 0 fails: a failed job while the run goes on
    leader = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(js), "--n", "6", "--sleep", "8", "--fail-at", "0", "--metrics", *QUIET],
        env={**os.environ, "FIX_DIR": str(go)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def dashboard_address() -> str | None:
            out = toil("status", str(js)).stdout
            return out.split("Dashboard: ")[1].split()[0] if "Dashboard: " in out else None

        dashboard = wait_for(dashboard_address, what="the dashboard's address in toil status")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", dashboard)

        def failed_and_queued() -> dict | None:
            body = series(dashboard)
            return body if max(values(body, "failed"), default=0) >= 1 and len(body["times"]) >= 3 else None

        body = wait_for(failed_and_queued, what="a failed job in the dashboard's series")
        assert body["state"] == "running"
        assert max(values(body, "issued")) >= 2 and max(values(body, "queue")) >= 1

        proc = run_chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", dashboard)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert leader.poll() is None, "the page was loaded after the run ended, not during it"
        dom = proc.stdout
        samples = re.search(r'<body data-samples="(\d+)" data-state="(\w+)"', dom)
        assert samples is not None, dom[:2000]
        assert int(samples[1]) >= 3 and samples[2] == "running"
        charts = figures(dom)
        assert set(charts) == set(CHARTS), charts
        for chart_id, attrs in charts.items():
            assert int(attrs["data-points"]) >= 3 and int(attrs["data-lines"]) >= 1, (chart_id, attrs)
        assert float(charts["memory"]["data-max"]) > 0  # this host's RAM in use, measured
        assert float(charts["nodes"]["data-max"]) == 1  # the local batch system: this host, one node
        assert float(charts["issued"]["data-max"]) >= 2
        assert float(charts["failed"]["data-max"]) >= 1
        assert float(charts["queue"]["data-max"]) >= 1
        assert f"{socket.gethostname()}: " in dom  # the CPU and RAM legends name this host

        metrics = scrape(dashboard + "metrics")
        labels = f"node={socket.gethostname()},node_type=,preemptible=false"
        assert metrics[f"toil_node_cores{{{labels}}}"] >= 1
        assert metrics[f"toil_node_memory_used_bytes{{{labels}}}"] > 0
        assert f"toil_node_cpu_used_cores{{{labels}}}" in metrics and f"toil_node_memory_bytes{{{labels}}}" in metrics
        assert metrics["toil_nodes{node_type=,state=up}"] == 1
        assert metrics["toil_jobs_failed_total{job_name=work}"] == 1

        (go / "GO").write_text("")
        out, err = leader.communicate(timeout=60)
        assert leader.returncode == 1 and "work 0 was told to fail" in err, err[-3000:]
    finally:
        leader.kill()
        leader.wait()
