"""The grid_engine batch system against a real (Son of) Grid Engine: qmaster + execd on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.integration.hpc import GE_ENV, ensure_grid_engine
from tests.integration.test_slurm import workflow_job_name
from tests.integration.test_toil_status import SCRIPT, alive, job_pids, toil, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.gridengine]
SCRIPTS = Path(__file__).parent / "scripts"
GE = ["--batchSystem", "grid_engine", "--logLevel", "WARNING", "--statePollingWait", "1"]


@pytest.fixture(scope="module", autouse=True)
def grid_engine():
    ensure_grid_engine()


@pytest.fixture(autouse=True)
def no_jobs_left_behind():
    yield
    subprocess.run(["qdel", "-u", os.environ.get("USER", "root")], capture_output=True, env={**os.environ, **GE_ENV})


def accounting(name: str) -> list[dict[str, str]]:
    """qacct's record of every job of that name: one dict per job."""
    p = subprocess.run(["qacct", "-j", name], capture_output=True, text=True, env={**os.environ, **GE_ENV})
    jobs, current = [], {}
    for line in p.stdout.splitlines():
        if line.startswith("====="):
            if current:
                jobs.append(current)
            current = {}
        elif len(line.split(None, 1)) == 2:
            key, value = line.split(None, 1)
            current[key] = value.strip()
    if current:
        jobs.append(current)
    return jobs


def wait_accounted(name: str, n: int) -> list[dict[str, str]]:
    return wait_for(
        lambda: (lambda a: a if len(a) >= n else None)(accounting(name)), timeout=60, what=f"{n} accounting records"
    )


def test_python_fan_out_with_promises_and_files(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPTS / "stats_workflow.py", str(js), *GE, "--clean", "never", timeout=300)
    assert p.returncode == 0 and "RESULT 69" in p.stdout, p.stderr
    jobs = wait_accounted(workflow_job_name(js), 3)  # tiny jobs of a name after the first are packed
    assert all(j["exit_status"] == "0" and j["failed"] == "0" for j in jobs), jobs


def test_resources_reach_grid_engine(tmp_path):
    js = tmp_path / "js"
    p = run_script(
        SCRIPTS / "hpc_resources.py", str(js), "--cores", "2", "--mem", "3Gi", *GE, "--clean", "never", timeout=300
    )
    assert p.returncode == 0 and "RESULT ok" in p.stdout, p.stderr
    (job,) = wait_accounted(workflow_job_name(js), 1)
    assert job["granted_pe"] == "smp" and job["slots"] == "2", job
    assert "h_vmem=1536M" in job.get("category", ""), job  # per slot, as Grid Engine counts it


def test_a_job_larger_than_any_queue_fails_at_once_with_the_reason(tmp_path):
    started = time.time()
    p = run_script(
        SCRIPTS / "hpc_resources.py", str(tmp_path / "js"), "--cores", "3", *GE, "--retryCount", "3", timeout=300
    )
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert "grid_engine rejected the job" in last and "suitable queues" in last, p.stderr
    assert time.time() - started < 60


def test_failure_retry_then_restart(tmp_path):
    js = tmp_path / "js"
    fix = {"FIX_DIR": str(tmp_path)}
    p = run_script(SCRIPT, str(js), "--n", "3", "--fail-at", "1", *GE, "--retryCount", "1", env=fix, timeout=300)
    assert p.returncode == 1 and p.stderr.count("failed: RuntimeError") == 2, p.stderr
    (tmp_path / "FIXED").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *GE, env=fix, timeout=300)
    assert done.returncode == 0 and "RESULT 3" in done.stdout, done.stderr


def test_toil_kill_deletes_every_grid_engine_job(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(js), "--n", "4", "--sleep", "120", "--pid-dir", str(pids), *GE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(job_pids(pids)) >= 2, timeout=120, what="two running Grid Engine jobs")
        k = toil("kill", str(js))
        assert k.returncode == 0, k.stderr
        leader.wait(timeout=60)
    finally:
        leader.kill()
    name = workflow_job_name(js)

    def queued() -> list[str]:
        out = subprocess.run(["qstat"], capture_output=True, text=True, env={**os.environ, **GE_ENV}).stdout
        return [line for line in out.splitlines() if name[:10] in line]

    wait_for(lambda: not queued(), timeout=60, what="Grid Engine to drop the deleted jobs")
    wait_for(lambda: not any(alive(pid) for pid in job_pids(pids)), timeout=60, what="job processes to end")


def test_cwl_and_wdl_scatters_on_grid_engine(tmp_path):
    bindir = os.path.dirname(sys.executable)
    job = tmp_path / "job.yml"
    job.write_text("words: [alpha, keep, gamma]\n")
    p = subprocess.run(
        [
            os.path.join(bindir, "toil-cwl-runner"),
            "--quiet",
            "--jobStore",
            str(tmp_path / "cjs"),
            "--outdir",
            str(tmp_path / "out"),
            *GE,
            str(Path(__file__).parent / "cwl_docs" / "fan.cwl"),
            str(job),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["count"] == 3
    log = tmp_path / "naps.log"
    p = subprocess.run(
        [
            os.path.join(bindir, "toil-wdl-runner"),
            str(Path(__file__).parent / "wdl" / "parallel.wdl"),
            "-i",
            json.dumps({"parallel.log": str(log)}),
            "-o",
            str(tmp_path / "wout"),
            "--jobStore",
            str(tmp_path / "wjs"),
            *GE,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert sorted(json.loads(p.stdout)["parallel.ids"]) == [0, 1, 2, 3]
