"""'toil stats --html' end to end: a real workflow with --stats, its report, rendered by headless Chromium."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.chromium import run_chromium
from tests.conftest import run_script
from toil.runtime.jobstores import normalize_locator, open_job_store
from toil.runtime.observe.stats_html import render_html
from toil.runtime.observe.statsdata import load_stats

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "scripts" / "stats_workflow.py"
SECTIONS = ("summary", "timeline", "graph", "slowest", "per-name")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the workflow with --stats and write its HTML report."""
    tmp = tmp_path_factory.mktemp("stats_html")
    js = tmp / "jobstore"
    proc = run_script(SCRIPT, f"file:{js}", "--stats", "--logLevel", "WARNING", cwd=tmp, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT 69" in proc.stdout  # writers return 0, 20, 40; sleepers 1, 3, 5
    stats = load_stats(open_job_store(normalize_locator(f"file:{js}")))
    assert len(stats.jobs) >= 8  # root, six children, the follow-on (jobs may be chained, not fewer)
    html = render_html(stats, "stats_workflow <report>")
    path = tmp / "REPORT.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_report_from_a_real_workflow(report: Path) -> None:
    html = report.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert html.count('<rect class="job"') >= 8
    assert "writer" in html and "sleeper" in html and "gather" in html
    assert "stats_workflow &lt;report&gt;" in html


def test_chromium_renders_the_report(report: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    proc = run_chromium(tmp_path, "--dump-dom", report.resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = proc.stdout
    for section in SECTIONS:
        assert re.search(rf'<section id="{section}"', dom), section
    assert len(re.findall(r'<rect class="job"', dom)) >= 8
    assert len(re.findall(r'<g class="node"', dom)) >= 8
    slowest = dom.split('<section id="slowest">')[1].split("</section>")[0]
    assert slowest.count("<tr>") >= 1 + 8
    per_name = dom.split('<section id="per-name">')[1].split("</section>")[0]
    assert per_name.count("<tr>") >= 1 + 4  # header, root, writer, sleeper, gather
    print(f"chromium --dump-dom took {time.monotonic() - started:.1f} s")


def test_chromium_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    proc = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2000", report.resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shot.exists(), proc.stderr[-3000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000, f"screenshot is only {len(data)} bytes"
