"""``--batchSystem mesos`` against the Mesos protocol double (tests/mesos_double): the master's v1 scheduler API on
127.0.0.1, its agents running every task as a real process on this host, with a memory limit.

Python (files, promises; tiny jobs packed into few tasks), CWL and WDL workflows, a file: store and an aws: one
on moto_server; offers fit to cores and memory, preemptible agents kept for preemptible jobs; an OOM kill retried
with --doubleMem; an agent lost mid-run (its tasks issued again without a retry spent); a job no agent can take
refused in one line; ``toil kill``; a leader killed with -9, then --restart (the same framework, the dead
leader's tasks killed). Every leader exit tears the framework down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_script, wait_for
from tests.integration.test_toil_status import alive, job_pids, toil
from tests.objectstores import aws_locator, s3_env
from toil.runtime.jobstores import open_job_store

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
SLEEPY = SCRIPTS / "utils_workflow.py"
BIN = Path(sys.executable).parent
REPO = HERE.parents[1]
AGENTS = ["a1:2:3000:20000", "a2:2:3000:20000"]


class Double:
    """The double's master, run as its own process (so a leader killed with -9 leaves its tasks running)."""

    def __init__(self, tmp: Path, agents: list[str]) -> None:
        port_file = tmp / "mesos-port"
        argv = [sys.executable, "-m", "tests.mesos_double", "--port-file", str(port_file), "--sandbox", str(tmp / "sb")]
        for agent in agents:
            argv += ["--agent", agent]
        self.process = subprocess.Popen(argv, cwd=REPO, stderr=open(tmp / "double.log", "wb"))
        wait_for(port_file.exists, timeout=30, what="the Mesos double to listen")
        self.address = f"127.0.0.1:{port_file.read_text()}"

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://{self.address}/double/state", timeout=10) as r:
            return dict(json.loads(r.read()))

    def lose_agent(self, agent_id: str) -> int:
        req = urllib.request.Request(f"http://{self.address}/double/agents/{agent_id}/lose", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(json.loads(r.read())["lost"])

    def running(self) -> dict[str, list[str]]:
        return {a: t for a, t in self.state()["running"].items() if t}

    def options(self, *extra: str) -> list[str]:
        return ["--batchSystem", "mesos", "--mesosMaster", self.address, "--logLevel", "WARNING",
                "--statePollingWait", "1", *extra]  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def agents() -> list[str]:
    """The double's agents, ``ID:CPUS:MEM_MIB:DISK_MIB[:preemptible]`` (a test parametrizes its own)."""
    return AGENTS


@pytest.fixture
def mesos(tmp_path, agents):
    double = Double(tmp_path, agents)
    yield double
    double.stop()


def only_framework(double: Double, live: bool = False) -> dict[str, Any]:
    state = double.state()
    frameworks = state["frameworks"] if live else state["frameworks"] + state["removed"]
    assert len(frameworks) == 1, state
    return dict(frameworks[0])


def torn_down(double: Double) -> None:
    """The leader's exit ended its framework: no live framework, no task process left."""
    state = double.state()
    assert state["frameworks"] == [] and len(state["removed"]) >= 1, state
    wait_for(lambda: not double.running(), timeout=15, what="the agents to end the framework's tasks")
    assert state["calls"].get("TEARDOWN", 0) >= 1


def fail_records(js: Path) -> list[dict[str, Any]]:
    _, records = open_job_store(str(js)).journal().load()
    return [r for r in records if r.get("t") == "fail"]


def sleeping_leader(double: Double, js: Path, pids: Path, n: int = 4, *extra: str) -> subprocess.Popen:
    """A leader in the background whose ``n`` jobs record their pids and sleep until GO (or 120 s), all at once
    (not packed: one would wait for another's end). The tasks get FIX_DIR through --setEnv: an agent's tasks do
    not inherit the leader's environment."""
    argv = [sys.executable, str(SLEEPY), str(js), "--n", str(n), "--sleep", "120", "--pid-dir", str(pids),
            "--setEnv", f"FIX_DIR={pids}", "--packJobs", "false"]  # fmt: skip
    return subprocess.Popen([*argv, *double.options(*extra)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "FIX_DIR": str(pids)})  # fmt: skip


def test_python_fan_out_with_files_and_promises(mesos, tmp_path):
    p = run_script(SCRIPTS / "stats_workflow.py", str(tmp_path / "js"), *mesos.options(), timeout=120)
    assert p.returncode == 0 and "RESULT 69" in p.stdout, p.stderr
    fw = only_framework(mesos)
    assert fw["name"] == "toil" and fw["subscriptions"] == 1
    assert len(fw["states"]) >= 3 and set(fw["states"].values()) == {"TASK_FINISHED"}, fw
    torn_down(mesos)


def test_tiny_jobs_are_packed_into_few_tasks(mesos, tmp_path):
    p = run_script(SLEEPY, str(tmp_path / "js"), "--n", "30", *mesos.options(), timeout=120)
    assert p.returncode == 0 and "RESULT 435" in p.stdout, p.stderr
    tasks = only_framework(mesos)["tasks"]
    assert 2 <= len(tasks) <= 8, tasks  # 32 jobs: the root, a probe of 'work', then packs
    torn_down(mesos)


def test_cwl_scatter(mesos, tmp_path):
    job = tmp_path / "job.yml"
    job.write_text("words: [alpha, keep, gamma]\n")
    argv = [str(BIN / "toil-cwl-runner"), "--quiet", "--jobStore", str(tmp_path / "js"), "--outdir",
            str(tmp_path / "out"), *mesos.options(), str(HERE / "cwl_docs" / "fan.cwl"), str(job)]  # fmt: skip
    p = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["count"] == 3
    assert [Path(f["path"]).read_text() for f in result["shouted"]] == ["ALPHA\n", "keep\n", "GAMMA\n"]
    assert "TASK_FINISHED" in only_framework(mesos)["states"].values()
    torn_down(mesos)


def test_wdl_scatter(mesos, tmp_path):
    log = tmp_path / "naps.log"
    argv = [str(BIN / "toil-wdl-runner"), str(HERE / "wdl" / "parallel.wdl"), "-i",
            json.dumps({"parallel.log": str(log)}), "-o", str(tmp_path / "out"), "--jobStore",
            str(tmp_path / "js"), *mesos.options()]  # fmt: skip
    p = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert p.returncode == 0, p.stderr
    assert sorted(json.loads(p.stdout)["parallel.ids"]) == [0, 1, 2, 3]
    assert len(log.read_text().splitlines()) == 4
    torn_down(mesos)


@pytest.mark.parametrize("agents", [["small:1:3000:20000", "spot:4:3000:20000:preemptible"]])
def test_preemptible_agents_take_only_preemptible_jobs(mesos, tmp_path):
    p = run_script(SLEEPY, str(tmp_path / "js1"), "--n", "3", *mesos.options("--mesosName", "plain"), timeout=120)
    assert p.returncode == 0 and "RESULT 3" in p.stdout, p.stderr
    spot = mesos.options(
        "--mesosName", "spot", "--defaultPreemptible", "true", "--mesosRole", "batch", "--packJobs", "false"
    )
    p = run_script(SLEEPY, str(tmp_path / "js2"), "--n", "3", "--sleep", "2", *spot, timeout=120)
    assert p.returncode == 0 and "RESULT 3" in p.stdout, p.stderr
    by_name = {f["name"]: f for f in mesos.state()["removed"]}
    assert set(by_name["plain"]["tasks"].values()) == {"small"}, by_name["plain"]
    assert "spot" in set(by_name["spot"]["tasks"].values()), by_name["spot"]
    assert by_name["spot"]["roles"] == ["batch"]


def test_oom_is_reported_and_retried_with_double_memory(mesos, tmp_path):
    p = run_script(SCRIPTS / "hpc_resources.py", str(tmp_path / "js"), "--mem", "300Mi", "--hog", "400",
                   *mesos.options("--retryCount", "1", "--doubleMem", "--packJobs", "false"), timeout=120)  # fmt: skip
    assert p.returncode == 0 and "RESULT ok" in p.stdout, p.stderr
    assert "REASON_CONTAINER_LIMITATION_MEMORY" in p.stderr and "Requested: 300MB" in p.stderr
    states = sorted(only_framework(mesos)["states"].values())
    assert states == ["TASK_FAILED", "TASK_FINISHED"], states
    torn_down(mesos)


def test_a_job_larger_than_any_agent_is_refused_in_one_line(mesos, tmp_path):
    p = run_script(SCRIPTS / "hpc_resources.py", str(tmp_path / "js"), "--cores", "3",
                   *mesos.options("--retryCount", "3"), timeout=60)  # fmt: skip
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert "mesos rejected the job: no non-preemptible Mesos agent can run a job of 3 core(s)" in last, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("rejected the job") <= 2, "not retried"
    assert only_framework(mesos)["states"] == {}
    torn_down(mesos)


def test_an_unreachable_master_or_a_server_that_is_none_is_one_line(tmp_path):
    def last_line(master: str) -> str:
        p = run_script(SCRIPTS / "stats_workflow.py", str(tmp_path / f"js{len(master)}"), "--batchSystem", "mesos",
                       "--mesosMaster", master, timeout=60)  # fmt: skip
        assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
        return p.stderr.strip().splitlines()[-1]

    assert last_line("127.0.0.1:1").endswith(
        "cannot reach the Mesos master at 127.0.0.1:1: [Errno 111] Connection refused (--mesosMaster 127.0.0.1:1)"
    )
    web = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)  # answers POST with 501 and a page
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{web.server_address[1]}"
        line = last_line(address)
    finally:
        web.shutdown()
    assert f"{address} is not a Mesos master that accepts this framework (501 Unsupported method" in line, line
    assert "<" not in line


def test_an_agent_lost_mid_run_reissues_its_tasks_without_a_retry(mesos, tmp_path):
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = sleeping_leader(mesos, js, pids, 2, "--retryCount", "0", "--clean", "never")
    try:
        wait_for(lambda: len(job_pids(pids)) == 2, timeout=60, what="two running work tasks")
        first = set(job_pids(pids))
        agent, tasks = max(mesos.running().items(), key=lambda kv: len(kv[1]))
        assert mesos.lose_agent(agent) == len(tasks) >= 1
        # Each task rewrites its pid file when it runs again: every job alive once more, some under new pids.
        wait_for(lambda: len(set(job_pids(pids)) - first) == len(tasks) and all(alive(p) for p in job_pids(pids)),
                 timeout=60, what="the lost tasks to run again")  # fmt: skip
        lost = fail_records(js)  # read while the leader runs: the end of the run folds the journal into a snapshot
        (pids / "GO").write_text("")
        out, err = leader.communicate(timeout=60)
    finally:
        leader.kill()
    assert leader.returncode == 0 and "RESULT 1" in out, err  # with --retryCount 0: no try was spent
    assert len(lost) == len(tasks) and not any(r["counts"] for r in lost), lost
    assert err.count("(try 1 of 1)") == len(tasks) and "REASON_AGENT_REMOVED" in err, err
    states = list(only_framework(mesos)["states"].values())
    assert states.count("TASK_LOST") == len(tasks), states
    torn_down(mesos)


def stopped_mid_run(mesos: Double, tmp_path: Path, stop: Callable[[subprocess.Popen, Path], None]) -> tuple[Path, Path]:
    """A sleeping leader stopped by ``stop(leader, job_store)`` once two of its tasks run; its job store and pid dir."""
    js, pids = tmp_path / "js", tmp_path / "pids"
    pids.mkdir()
    leader = sleeping_leader(mesos, js, pids)
    try:
        wait_for(lambda: len(job_pids(pids)) >= 2, timeout=60, what="two running Mesos tasks")
        stop(leader, js)
        leader.wait(timeout=60)
    finally:
        leader.kill()
    return js, pids


def toil_kill(leader: subprocess.Popen, js: Path) -> None:
    k = toil("kill", str(js))
    assert k.returncode == 0, k.stderr


def test_toil_kill_kills_every_task_and_tears_the_framework_down(mesos, tmp_path):
    _, pids = stopped_mid_run(mesos, tmp_path, toil_kill)
    wait_for(lambda: not any(alive(pid) for pid in job_pids(pids)), timeout=30, what="task processes to end")
    torn_down(mesos)


def test_toil_kill_force_tears_the_dead_leaders_framework_down(mesos, tmp_path):
    def force(leader: subprocess.Popen, js: Path) -> None:
        def listed() -> int:  # the status file names the issued jobs' tasks, which toil kill --force reads
            status = json.loads(open_job_store(str(js)).read_status() or b"{}")
            return sum(1 for j in status.get("issued_jobs", []) if "@" in str(j.get("batch_id")))

        wait_for(lambda: listed() >= 2, timeout=30, what="the status to name the running tasks")
        k = subprocess.Popen([sys.executable, "-m", "toil.cli.toil_main", "kill", "--force", str(js)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        leader.wait(timeout=30)  # reaped, not a zombie toil kill would wait for
        _, err = k.communicate(timeout=60)
        assert k.returncode == 0, err

    _, pids = stopped_mid_run(mesos, tmp_path, force)
    wait_for(lambda: not any(alive(pid) for pid in job_pids(pids)), timeout=30, what="task processes to end")
    torn_down(mesos)
    assert only_framework(mesos)["subscriptions"] == 2  # the leader's, then toil kill's to tear it down


def test_leader_killed_with_9_then_restart_reregisters_and_kills_leftovers(mesos, tmp_path):
    js, pids = stopped_mid_run(mesos, tmp_path, lambda leader, _: leader.send_signal(signal.SIGKILL))
    left = job_pids(pids)
    assert any(alive(pid) for pid in left) and mesos.running(), "the dead leader's tasks still run"
    for f in pids.glob("*.pid"):
        f.unlink()
    restarted = subprocess.Popen([sys.executable, str(SLEEPY), str(js), "--restart", "--setEnv", f"FIX_DIR={pids}",
                                  *mesos.options()],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "FIX_DIR": str(pids)})  # fmt: skip
    try:
        wait_for(lambda: not any(alive(pid) for pid in left), timeout=60, what="the leftover tasks to be killed")
        fw = only_framework(mesos, live=True)
        assert fw["subscriptions"] == 2, "the restarted leader subscribed as the same framework"
        (pids / "GO").write_text("")
        out, err = restarted.communicate(timeout=90)
    finally:
        restarted.kill()
    assert restarted.returncode == 0 and "RESULT 6" in out, err
    torn_down(mesos)


def test_an_aws_job_store_on_moto(mesos, tmp_path):
    """The agents reach an ``aws:`` store (moto_server on 127.0.0.1) with the variables the leader forwards."""
    env = s3_env("moto")
    p = run_script(SCRIPTS / "stats_workflow.py", aws_locator("mesos"), *mesos.options(), env=env, timeout=180)
    assert p.returncode == 0 and "RESULT 69" in p.stdout, p.stderr
    assert set(only_framework(mesos)["states"].values()) == {"TASK_FINISHED"}
    torn_down(mesos)
