"""User mistakes end in one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_script

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parent / "scripts" / "mistakes.py"
QUIET = ["--logLevel", "CRITICAL", "--retryCount", "0"]


def last_line_error(p) -> str:
    lines = [line for line in p.stderr.strip().splitlines() if line.strip()]
    assert lines, "no error printed"
    assert "Traceback" not in p.stderr, p.stderr
    return lines[-1]


@pytest.mark.parametrize(
    "mistake,needle",
    [
        ("cycle", "a cycle of job dependencies"),
        ("promise", "may not have run before it"),
        ("pickle", "cannot pickle the job"),
        ("toobig", "memory (at most"),
    ],
)
def test_graph_mistakes_before_anything_runs(tmp_path, mistake, needle):
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), "--mistake", mistake, *QUIET)
    assert p.returncode == 1
    line = last_line_error(p)
    assert line.startswith("mistakes.py: error:") and needle in line, line
    if mistake != "toobig":
        assert not js.exists()  # nothing was recorded, so nothing is left behind


def test_mistake_inside_a_running_job_fails_without_retries(tmp_path):
    p = run_script(SCRIPT, str(tmp_path / "js"), "--mistake", "dynamic_cycle", "--logLevel", "CRITICAL")
    assert p.returncode == 1
    assert "a cycle of job dependencies" in last_line_error(p)


def test_failed_job_is_reported_then_restart_after_the_fix(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), "--mistake", "fails", "--logLevel", "WARNING", "--retryCount", "1")
    assert p.returncode == 1
    assert "Log from job 'failing'" in p.stderr and "the input has no header line" in p.stderr
    assert p.stderr.count("failed: ValueError") == 2  # two tries
    line = p.stderr.strip().splitlines()[-1]
    assert "workflow failed" in line and "--restart" in line and str(js) in line
    assert js.exists()
    again = run_script(SCRIPT, str(js), "--mistake", "fails", *QUIET)
    assert again.returncode == 1 and "already exists" in last_line_error(again)


def test_restart_of_a_missing_job_store(tmp_path):
    p = run_script(SCRIPT, str(tmp_path / "nothing"), "--restart", *QUIET)
    assert p.returncode == 1 and "does not exist" in last_line_error(p)


def test_toil_clean(tmp_path):
    import subprocess
    import sys

    js = tmp_path / "js"
    run_script(SCRIPT, str(js), "--mistake", "fails", *QUIET)
    toil = [sys.executable, "-m", "toil.cli.toil_main"]
    p = subprocess.run([*toil, "clean", str(js)], capture_output=True, text=True)
    assert p.returncode == 0 and not js.exists()
    p = subprocess.run([*toil, "clean", str(js)], capture_output=True, text=True)
    assert p.returncode == 1 and "does not exist" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_successful_run_prints_its_result_and_cleans_up(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), *QUIET)
    assert p.returncode == 0 and "RESULT None" in p.stdout and not js.exists()
