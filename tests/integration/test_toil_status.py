"""`toil status`, `toil kill`, `toil debug-job` and `toil clean` against real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_script, wait_for

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parent / "scripts" / "utils_workflow.py"
QUIET = ["--logLevel", "WARNING", "--retryCount", "0"]


def toil(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toil.cli.toil_main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def start_background(js: Path, *args: str, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(js), *args, *QUIET],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def running_count(js: Path) -> int:
    p = toil("status", str(js))
    if p.returncode != 0 or "running" not in p.stdout:
        return 0
    line = p.stdout.splitlines()[1]
    return int(line.split("(")[1].split()[0])


def job_pids(pid_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in pid_dir.glob("*.pid") if p.read_text()]


def test_status_of_a_running_workflow_then_kill_stops_every_job(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = start_background(js, "--n", "6", "--sleep", "60", "--pid-dir", str(pids))
    try:
        wait_for(lambda: running_count(js) == 2 and len(job_pids(pids)) == 2, what="two running jobs")
        p = toil("status", str(js))
        assert p.returncode == 0, p.stderr
        assert "running (leader pid" in p.stdout and "2 running" in p.stdout and "6 issued" in p.stdout
        p = toil("status", str(js), "--printStatus")
        assert p.stdout.splitlines()[0] == "RUNNING" and p.stdout.count("running: 'work'") == 2
        assert "batch system ID" in p.stdout
        assert toil("status", str(js), "--failIfNotComplete").returncode == 1
        killed = toil("kill", str(js))
        assert killed.returncode == 0 and "Killed the workflow" in killed.stdout, killed.stderr
        leader.wait(timeout=30)
    finally:
        leader.kill()
    assert leader.returncode != 0
    for pid in job_pids(pids):
        assert not alive(pid), f"job process {pid} survived toil kill"
    p = toil("status", str(js))
    assert "stopped" in p.stdout and "0 running" in p.stdout
    # the job store is kept: the workflow resumes and completes
    (pids / "GO").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *QUIET, "--clean", "never", env={"FIX_DIR": str(pids)}, timeout=60)
    assert done.returncode == 0 and "RESULT 15" in done.stdout, done.stderr
    p = toil("status", str(js), "--printStatus", "--failIfNotComplete")
    assert p.returncode == 0 and p.stdout.startswith("COMPLETED"), p.stdout + p.stderr


def test_kill_force_kills_the_leader_and_its_jobs(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = start_background(js, "--n", "4", "--sleep", "60", "--pid-dir", str(pids), "--clean", "never")
    try:
        wait_for(lambda: len(job_pids(pids)) == 2 and running_count(js) == 2, what="two running jobs")
        p = toil("kill", "--force", str(js))
        assert p.returncode == 0, p.stderr
        leader.wait(timeout=30)
        assert leader.returncode == -9
    finally:
        leader.kill()
    for pid in job_pids(pids):
        assert not alive(pid)
    assert toil("kill", str(js)).stdout.startswith("No leader is running")
    (pids / "GO").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *QUIET, env={"FIX_DIR": str(pids)}, timeout=60)
    assert done.returncode == 0 and "RESULT 6" in done.stdout, done.stderr


def test_failed_workflow_status_logs_dot_and_debug_job(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), "--n", "3", "--fail-at", "1", *QUIET, env={"FIX_DIR": str(tmp_path)})
    assert p.returncode == 1
    # the leader prints the failed job's log in full, headed by its name
    assert "Log from job 'work'" in p.stderr and "work 1 is running" in p.stderr

    status = toil("status", str(js))
    assert "failed" in status.stdout.splitlines()[0] and "1 failed" in status.stdout
    assert toil("status", str(js), "--printStatus").stdout.startswith("ERROR")
    assert toil("status", str(js), "--failIfNotComplete").returncode == 1
    failed = toil("status", str(js), "--failed").stdout
    assert "1 failed job(s)" in failed and "'work'" in failed and "work 1 was told to fail" in failed
    job_id = failed.split("(id ")[1].split(")")[0]
    logs = toil("status", str(js), "--printLogs").stdout
    assert f"=== Log of failed job 'work' {job_id}" in logs and "RuntimeError: work 1 was told to fail" in logs
    dot = toil("status", str(js), "--printDot").stdout
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert f'"{job_id}" [label="\'work\' {job_id}", fillcolor=red]' in dot and " -> " in dot

    info = toil("debug-job", str(js), job_id, "--printJobInfo")
    assert info.returncode == 0
    described = json.loads(info.stdout)
    assert described["id"] == job_id and described["name"] == "work" and described["status"] == "failed"

    def leader_inputs():
        return sorted(
            (str(p.relative_to(js)), p.stat().st_size) for d in ("state", "results") for p in (js / d).iterdir()
        )

    before = leader_inputs()
    fix = {"FIX_DIR": str(tmp_path)}
    again = toil("debug-job", str(js), job_id, env=fix)
    assert again.returncode == 1 and "work 1 was told to fail" in again.stderr
    (tmp_path / "FIXED").write_text("")
    fixed = toil("debug-job", str(js), "work", env=fix)  # by name: the one failed 'work' job
    assert fixed.returncode == 0 and "succeeded" in fixed.stderr, fixed.stderr
    assert "work 1 is running" in fixed.stdout
    # debugging changed nothing the leader reads: same journal, no results left behind
    assert leader_inputs() == before
    done = run_script(SCRIPT, str(js), "--restart", *QUIET, env=fix)
    assert done.returncode == 0 and "RESULT 3" in done.stdout, done.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["status", "{missing}"], "does not exist"),
        (["status", "{foreign}"], "does not exist"),
        (["stats", "{missing}"], "does not exist"),
        (["kill", "{missing}"], "does not exist"),
        (["clean", "{missing}"], "does not exist"),
        (["debug-job", "{missing}", "x"], "does not exist"),
        (["status", "{store}", "--bogus"], "unrecognized arguments"),
        (["debug-job", "{store}", "nosuchjob"], "no unfinished job 'nosuchjob'"),
        (["stats", "{store}"], "holds no statistics: run the workflow with --stats"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, args, needle):
    store = tmp_path / "store"
    p = run_script(SCRIPT, str(store), "--n", "2", "--fail-at", "0", *QUIET)
    assert p.returncode == 1
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.txt").write_text("not a job store")
    paths = {"missing": str(tmp_path / "missing"), "foreign": str(foreign), "store": str(store)}
    r = toil(*[a.format(**paths) for a in args])
    assert r.returncode != 0
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in r.stderr and needle in lines[-1], r.stderr
    if args[0] != "frobnicate" and "--bogus" not in args:
        assert len(lines) == 1, r.stderr
    assert (foreign / "data.txt").exists() and store.exists()


def test_clean_deletes_the_job_store(tmp_path):
    store = tmp_path / "store"
    assert run_script(SCRIPT, str(store), "--n", "2", "--clean", "never", *QUIET).returncode == 0
    p = toil("clean", str(store))
    assert p.returncode == 0 and not store.exists()


def test_the_kill_flag_alone_stops_a_leader(tmp_path):
    """How `toil kill` reaches a leader on another host: the flag in the job store, no signal."""
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = start_background(js, "--n", "4", "--sleep", "60", "--pid-dir", str(pids))
    try:
        wait_for(lambda: len(job_pids(pids)) == 2, what="two running jobs")
        (js / "flags" / "toil-kill").write_text("")
        _, err = leader.communicate(timeout=30)
    finally:
        leader.kill()
    assert leader.returncode != 0 and "stopped by 'toil kill'" in err.strip().splitlines()[-1], err
    for pid in job_pids(pids):
        assert not alive(pid)
    (pids / "GO").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *QUIET, env={"FIX_DIR": str(pids)}, timeout=60)
    assert done.returncode == 0 and "RESULT 6" in done.stdout, "the flag must not stop the restarted leader"
