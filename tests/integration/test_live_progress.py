"""Live progress on a terminal (and none off it), and the --metrics Prometheus endpoint, on real runs."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

import pytest

from tests.conftest import run_script
from tests.integration.test_toil_status import SCRIPT, toil, wait_for

pytestmark = pytest.mark.integration
QUIET = ["--logLevel", "WARNING", "--retryCount", "0"]
BAR = "━"


def run_in_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """Run the workflow script with a pseudo-terminal as its stdout and stderr; return (exit code, screen)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(tmp_path):
    code, screen = run_in_terminal(str(tmp_path / "js"), "--n", "12", "--sleep", "0.3", *QUIET)
    assert code == 0 and "RESULT 66" in screen, screen
    assert "Jobs" in screen and BAR in screen and "queued" in screen and "running" in screen
    assert "jobs/s" in screen and "14/14" in screen, "the last frame counts every job done"


def test_no_progress_bar_when_disabled_or_not_a_terminal(tmp_path):
    code, screen = run_in_terminal(str(tmp_path / "js"), "--n", "3", "--disableProgress", *QUIET)
    assert code == 0 and "RESULT 3" in screen and BAR not in screen and "jobs/s" not in screen
    p = run_script(SCRIPT, str(tmp_path / "js2"), "--n", "3", *QUIET)
    assert p.returncode == 0 and BAR not in p.stderr + p.stdout and "jobs/s" not in p.stderr


def test_metrics_endpoint_counts_jobs_by_name(tmp_path):
    from toil.runtime.observe.metrics import scrape

    js, go = tmp_path / "js", tmp_path / "ctl"
    go.mkdir()
    leader = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(js), "--n", "5", "--sleep", "60", "--metrics", *QUIET],
        env={**os.environ, "FIX_DIR": str(go)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def url_when_two_run() -> str | None:
            out = toil("status", str(js)).stdout
            if "Metrics: " not in out:
                return None
            url = out.split("Metrics: ")[1].split()[0]
            samples = scrape(url)
            return url if samples.get("toil_jobs_running{job_name=work}") == 2 else None

        url = wait_for(url_when_two_run, what="two running work jobs on the metrics endpoint")
        samples = scrape(url)
        assert samples["toil_jobs_issued{job_name=work}"] == 5
        assert samples["toil_queue_size"] == 3 and samples["toil_cores_in_use"] == 2
        assert samples["toil_jobs_completed_total{job_name=fan}"] == 1
        # fan ran but waits for its children and its follow-on "total": neither is finished yet
        assert samples["toil_workflow_jobs{state=finished}"] == 0
        assert samples["toil_workflow_jobs{state=waiting}"] == 2
        (go / "GO").write_text("")
        out, err = leader.communicate(timeout=60)
        assert leader.returncode == 0 and "RESULT 10" in out, err
    finally:
        leader.kill()
