"""The slurm batch system against a real Slurm (slurmctld + slurmd + slurmdbd for sacct) on this machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.integration.hpc import ensure_slurm, slurm_jobs, squeue_ids
from tests.integration.test_toil_status import SCRIPT, alive, job_pids, toil, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slurm]
SCRIPTS = Path(__file__).parent / "scripts"
SLURM = ["--batchSystem", "slurm", "--logLevel", "WARNING", "--statePollingWait", "1"]


@pytest.fixture(scope="module", autouse=True)
def slurm():
    ensure_slurm()


@pytest.fixture(autouse=True)
def no_jobs_left_behind():
    """A test that fails part way may leave a killed leader's jobs queued: cancel them, not to starve the next."""
    yield
    subprocess.run(["scancel", "-u", str(os.getuid())], capture_output=True)


def workflow_job_name(js: Path) -> str:
    meta = json.loads((js / "toil.json").read_text())
    return "toil_" + meta["workflow_id"].replace("-", "")[:12]


def test_python_fan_out_with_promises_and_files(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPTS / "stats_workflow.py", str(js), *SLURM, "--clean", "never", timeout=300)
    assert p.returncode == 0 and "RESULT 69" in p.stdout, p.stderr
    jobs = slurm_jobs(workflow_job_name(js))
    assert len(jobs) >= 3 and all(j["state"] == "COMPLETED" for j in jobs), jobs


def test_resources_reach_slurm(tmp_path):
    js = tmp_path / "js"
    p = run_script(
        SCRIPTS / "hpc_resources.py", str(js), "--cores", "2", "--mem", "300Mi", *SLURM, "--clean", "never", timeout=300
    )
    assert p.returncode == 0 and "RESULT ok" in p.stdout, p.stderr
    (job,) = slurm_jobs(workflow_job_name(js))
    assert job["cpus"] == "2" and job["mem"] == "300M", job


def test_a_job_larger_than_any_node_fails_at_once_with_slurms_reason(tmp_path):
    started = time.time()
    p = run_script(
        SCRIPTS / "hpc_resources.py", str(tmp_path / "js"), "--cores", "3", *SLURM, "--retryCount", "3", timeout=300
    )
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert "slurm rejected the job: sbatch: error:" in last, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("rejected the job") <= 2, "not retried"
    assert time.time() - started < 60


def test_failure_retry_then_restart_after_the_fix(tmp_path):
    js = tmp_path / "js"
    fix = {"FIX_DIR": str(tmp_path)}
    p = run_script(
        SCRIPT,
        str(js),
        "--n",
        "3",
        "--fail-at",
        "1",
        *SLURM,
        "--retryCount",
        "1",
        "--packJobs",
        "false",
        env=fix,
        timeout=300,
    )
    assert p.returncode == 1 and "work 1 was told to fail" in p.stderr
    assert p.stderr.count("failed: RuntimeError") == 2, "one retry"
    assert "Log from job 'work'" in p.stderr
    failed = [j for j in slurm_jobs(workflow_job_name(js)) if j["state"] == "FAILED"]
    assert len(failed) == 2 and all(j["exit"].startswith("1:") for j in failed), failed
    (tmp_path / "FIXED").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *SLURM, env=fix, timeout=300)
    assert done.returncode == 0 and "RESULT 3" in done.stdout, done.stderr


def sleeping_leader(js: Path, pids: Path) -> subprocess.Popen:
    """A leader in the background whose four jobs record their pids and sleep until GO (or 120 s)."""
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(js), "--n", "4", "--sleep", "120", "--pid-dir", str(pids), *SLURM],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_toil_kill_cancels_every_slurm_job(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = sleeping_leader(js, pids)
    try:
        wait_for(lambda: len(job_pids(pids)) >= 2, timeout=120, what="two running Slurm jobs")
        name = workflow_job_name(js)
        assert len(squeue_ids(name)) == 4  # running, or pending for want of cores
        k = toil("kill", str(js))
        assert k.returncode == 0, k.stderr
        leader.wait(timeout=60)
    finally:
        leader.kill()
    wait_for(lambda: not squeue_ids(name), timeout=60, what="Slurm to drop the cancelled jobs")
    wait_for(lambda: not any(alive(pid) for pid in job_pids(pids)), timeout=60, what="job processes to end")
    states = {j["state"].split()[0] for j in slurm_jobs(name)}
    assert states <= {"CANCELLED", "COMPLETED"}, states


def test_leader_killed_mid_run_restarts_and_finishes(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = sleeping_leader(js, pids)
    try:
        wait_for(lambda: len(job_pids(pids)) >= 2, timeout=120, what="two running Slurm jobs")
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
    finally:
        leader.kill()
    name = workflow_job_name(js)
    assert squeue_ids(name), "the dead leader's jobs are still in Slurm"
    (pids / "GO").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *SLURM, env={"FIX_DIR": str(pids)}, timeout=300)
    assert done.returncode == 0 and "RESULT 6" in done.stdout, done.stderr
    assert not squeue_ids(name)


def test_cwl_scatter_on_slurm(tmp_path):
    docs = Path(__file__).parent / "cwl_docs"
    job = tmp_path / "job.yml"
    job.write_text("words: [alpha, keep, gamma]\n")
    p = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "toil-cwl-runner"),
            "--quiet",
            "--jobStore",
            str(tmp_path / "js"),
            "--outdir",
            str(tmp_path / "out"),
            *SLURM,
            str(docs / "fan.cwl"),
            str(job),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["count"] == 3
    assert [Path(f["path"]).read_text() for f in result["shouted"]] == ["ALPHA\n", "keep\n", "GAMMA\n"]


def test_wdl_scatter_on_slurm(tmp_path):
    wdl = Path(__file__).parent / "wdl" / "parallel.wdl"
    log = tmp_path / "naps.log"
    p = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "toil-wdl-runner"),
            str(wdl),
            "-i",
            json.dumps({"parallel.log": str(log)}),
            "-o",
            str(tmp_path / "out"),
            "--jobStore",
            str(tmp_path / "js"),
            *SLURM,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert sorted(json.loads(p.stdout)["parallel.ids"]) == [0, 1, 2, 3]
    assert len(log.read_text().splitlines()) == 4


def submissions(js: Path) -> int:
    return len(slurm_jobs(workflow_job_name(js)))


def test_tiny_jobs_are_packed_with_their_own_logs_and_retries(tmp_path):
    js, logs = tmp_path / "js", tmp_path / "logs"
    fix = {"FIX_DIR": str(tmp_path)}
    p = run_script(
        SCRIPT,
        str(js),
        "--n",
        "120",
        "--fail-at",
        "77",
        *SLURM,
        "--retryCount",
        "1",
        "--writeLogs",
        str(logs),
        env=fix,
        timeout=600,
    )
    assert p.returncode == 1 and p.stderr.count("failed: RuntimeError") == 2, p.stderr  # retried on its own
    assert "work 77 was told to fail" in p.stderr
    n = submissions(js)
    assert n <= 6, f"{n} Slurm jobs for 121 jobs: tiny jobs were not packed"
    work_logs = list(logs.glob("work_*.log"))
    assert len(work_logs) == 119, "every job that succeeded keeps its own log"
    assert all(f.read_text().startswith("work ") for f in work_logs)
    assert len(list(logs.glob("failed_work_*.log"))) == 2
    (tmp_path / "FIXED").write_text("")
    done = run_script(SCRIPT, str(js), "--restart", *SLURM, env=fix, timeout=300)
    assert done.returncode == 0 and f"RESULT {sum(range(120))}" in done.stdout, done.stderr


def test_packing_can_be_turned_off(tmp_path):
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), "--n", "6", *SLURM, "--packJobs", "false", "--clean", "never", timeout=300)
    assert p.returncode == 0 and "RESULT 15" in p.stdout, p.stderr
    assert submissions(js) == 8


def test_out_of_memory_is_reported_and_double_mem_retries_with_twice_the_memory(tmp_path):
    js = tmp_path / "js"
    args = ["--cores", "1", "--mem", "300Mi", "--hog", "400", *SLURM, "--retryCount", "1", "--clean", "never"]
    p = run_script(SCRIPTS / "hpc_resources.py", str(js), *args, "--doubleMem", timeout=300)
    assert p.returncode == 0 and "RESULT ok" in p.stdout, p.stderr
    assert "exceeding its memory" in p.stderr
    jobs = slurm_jobs(workflow_job_name(js))
    assert [j["mem"] for j in jobs] == ["300M", "600M"] and jobs[1]["state"] == "COMPLETED", jobs


def test_a_job_cancelled_by_an_admin_is_issued_again(tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            str(js),
            "--n",
            "2",
            "--sleep",
            "120",
            "--pid-dir",
            str(pids),
            *SLURM,
            "--retryCount",
            "0",
            "--packJobs",
            "false",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FIX_DIR": str(pids)},
    )
    try:
        wait_for(lambda: len(job_pids(pids)) >= 2, timeout=120, what="two running Slurm jobs")
        name = workflow_job_name(js)
        victim = squeue_ids(name)[0]
        subprocess.run(["scancel", victim], check=True)  # as an admin (or a node failure) would
        wait_for(
            lambda: victim not in squeue_ids(name) and len(squeue_ids(name)) == 2,
            timeout=120,
            what="the cancelled job to be issued again",
        )
        (pids / "GO").write_text("")
        out, err = leader.communicate(timeout=120)
    finally:
        leader.kill()
    assert leader.returncode == 0 and "RESULT 1" in out, err  # retryCount 0: the cancel did not count


def test_jobs_spread_over_two_nodes(tmp_path):
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True).stdout.split()
    if len(set(nodes)) < 2:
        pytest.skip("this Slurm has one node (CI starts two: infra/slurm-up.sh 2)")
    js = tmp_path / "js"
    p = run_script(
        SCRIPT, str(js), "--n", "4", "--sleep", "3", *SLURM, "--packJobs", "false", "--clean", "never", timeout=300
    )
    assert p.returncode == 0, p.stderr
    out = subprocess.run(
        ["sacct", "-n", "-P", "-X", f"--name={workflow_job_name(js)}", "-S", "now-1hours", "-o", "NodeList"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert {"node1", "node2"} <= set(out), out


def test_without_accounting_states_come_from_scontrol(tmp_path):
    """slurmdbd down: sacct fails, so the batch system reads scontrol instead (as with accounting off)."""
    pid = int(Path("/run/slurmdbd.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    wait_for(
        lambda: subprocess.run(["sacct", "-n", "-X", "-S", "now"], capture_output=True).returncode != 0,
        timeout=60,
        what="sacct to fail",
    )
    try:
        p = run_script(
            SCRIPT, str(tmp_path / "js"), "--n", "3", "--batchSystem", "slurm", "--logLevel", "INFO", timeout=300
        )
        assert p.returncode == 0 and "RESULT 3" in p.stdout, p.stderr
        assert "accounting (sacct) is off: reading job states with scontrol" in p.stderr
    finally:
        subprocess.run(["slurmdbd"], check=True)
        wait_for(
            lambda: subprocess.run(["sacct", "-n", "-X", "-S", "now"], capture_output=True).returncode == 0,
            timeout=60,
            what="sacct to answer again",
        )


@pytest.mark.parametrize(
    "runner,doc", [("toil-cwl-runner", "cwl_docs/echo.cwl"), ("toil-wdl-runner", "wdl/task_only.wdl")]
)
def test_document_runners_need_a_shared_job_store_on_a_cluster(tmp_path, runner, doc):
    p = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), runner),
            "--batchSystem",
            "slurm",
            str(Path(__file__).parent / doc),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert (
        p.stderr.strip()
        .splitlines()[-1]
        .endswith("give --jobStore a path on a file system they share (the default is a local temporary directory)")
    )
