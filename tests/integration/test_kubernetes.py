"""``--batchSystem kubernetes`` on a real one-node Kubernetes 1.20 (infra/k8s-up.sh), every job in a real pod of the
appliance image (infra/appliance.sh), the ``aws:`` store on moto_server at 127.0.0.1.

Python, CWL and WDL workflows and Toil's sort.py run unchanged; OOM kills are retried with --doubleMem; a job no
node can take is refused at once; a pod that cannot be scheduled fails with Kubernetes' reason within the pod
timeout; placement keeps jobs that are not preemptible off spot nodes; ``toil kill``, a leader killed with -9 and
--restart, and pods deleted mid-run leave no object behind and lose no job.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.integration.toil_scripts import toil_96_scripts
from tests.kube import kube_env, kubectl, label_node, objects, wait_for
from tests.objectstores import aws_locator

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

HERE = Path(__file__).parent
SIDEFX = HERE / "scripts" / "sidefx.py"
MEMORY = HERE / "scripts" / "k8s_memory.py"
BIN = Path(sys.executable).parent
SPOT = "eks.amazonaws.com/capacityType"


def expected(n: int) -> int:
    return sum(range(n)) + 8 + len("payload") + len("svc")


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A directory every pod mounts at the same path (--kubernetesHostPath): side-effect files go there."""
    path = tmp_path / "host"
    path.mkdir()
    return path


def kube_args(host: Path, *more: str) -> list[str]:
    return ["--batchSystem", "kubernetes", "--kubernetesHostPath", str(host), "--logLevel", "WARNING", *more]


def side_env(host: Path, delay: float = 0) -> list[str]:
    """Jobs leave their marks in a file of the shared host path; --setEnv gives the pods its name."""
    return ["--setEnv", f"SIDE_FILE={host / 'side'}", "--setEnv", f"JOB_DELAY={delay:g}"]


def side_counts(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(line.split()[0] for line in path.read_text().splitlines() if line.strip())


def workflow_objects() -> list[str]:
    """Every Job, pod and Secret any workflow of ours left in the cluster."""
    return [f"{kind}/{o['metadata']['name']}" for kind in ("jobs", "pods", "secrets") for o in objects(kind)]


@pytest.fixture(autouse=True)
def clean_cluster():
    """Each test starts and ends with no workflow object in the cluster (and the node without spot labels)."""
    yield
    label_node(**{SPOT: None})
    try:
        wait_for(lambda: not workflow_objects(), 60, "the workflow's Kubernetes objects to go")
    finally:  # whatever a failing test left must not fail the next
        for kind in ("jobs", "pods", "secrets"):
            kubectl("delete", kind, "-l", "toil_run", "--grace-period=0", "--force", "--wait=false", check=False)


def test_python_fan_out_with_files_promises_and_a_service(host: Path) -> None:
    """sidefx.py: a fan-out summed through promises, a chain, a file between jobs, a service, on an aws: store."""
    env = {**kube_env(), "SIDE_FILE": str(host / "side")}
    n = 30
    p = run_script(SIDEFX, aws_locator(), "--n", str(n), *kube_args(host, *side_env(host)), env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"RESULT {expected(n)}" in p.stdout
    counts = side_counts(host / "side")
    assert (
        counts["root"] == 1 and counts["total"] == 1 and sum(v for k, v in counts.items() if k.startswith("leaf")) == n
    )
    assert not workflow_objects(), p.stderr[-3000:]  # every Job, pod and the Secret went with the leader


def test_toils_sort_py_runs_unchanged(host: Path, tmp_path: Path) -> None:
    env = kube_env()
    rng = random.Random(7)
    lines = ["".join(rng.choice("acgt") for _ in range(30)) + "\n" for _ in range(3000)]
    (tmp_path / "in.txt").write_text("".join(lines))
    sort_py = toil_96_scripts() / "sort" / "sort.py"
    p = run_script(
        sort_py,
        aws_locator(),
        "--fileToSort",
        str(tmp_path / "in.txt"),
        "--outputFile",
        str(tmp_path / "out.txt"),
        "--N",
        "20000",
        *kube_args(host),
        env=env,
        timeout=900,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "out.txt").read_text().splitlines(keepends=True) == sorted(lines)


def test_a_cwl_workflow(host: Path, tmp_path: Path) -> None:
    env = {**os.environ, **kube_env()}
    out = tmp_path / "out"
    p = subprocess.run(
        [str(BIN / "toil-cwl-runner"), "--no-container", "--quiet", "--jobStore", aws_locator(), "--outdir", str(out)]
        + kube_args(host)
        + [str(HERE / "cwl_docs" / "two_steps.cwl"), "--msg", "hello"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout)
    assert Path(result["report"]["path"]).read_text() == "hello\nindex\none\ntwo\n"
    assert (out / "tree" / "sub" / "two.txt").read_text() == "two\n"


def test_a_wdl_workflow(host: Path, tmp_path: Path) -> None:
    env = {**os.environ, **kube_env()}
    wdl = HERE / "wdl"
    p = subprocess.run(
        [str(BIN / "toil-wdl-runner"), "--container", "none", "--jobStore", aws_locator(), str(wdl / "constructs.wdl")]
        + [str(wdl / "constructs.json"), "-o", str(tmp_path / "out")]
        + kube_args(host),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout)["constructs.doubled"] == {"a": 2, "b": 4}


def test_oom_killed_pod_is_retried_with_double_memory(host: Path) -> None:
    """A job asking 300 MiB that uses 400 MiB is OOMKilled, reported as out of memory, and passes at 600 MiB."""
    env = kube_env()
    p = run_script(
        MEMORY, aws_locator(), "--use", "400", "--ask", "300M", "--doubleMem", *kube_args(host), env=env, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "ALLOCATED 400" in p.stdout
    assert "OOMKilled" in p.stderr or "out of memory" in p.stderr


def test_a_job_larger_than_every_node_is_refused_at_once(host: Path) -> None:
    env = kube_env()
    started = time.time()
    p = run_script(
        MEMORY,
        aws_locator(),
        "--use",
        "1",
        "--cores",
        "64",
        *kube_args(host, "--retryCount", "3"),
        env=env,
        timeout=300,
    )
    assert p.returncode != 0
    assert "the largest node, localhost, has" in p.stderr, p.stderr[-2000:]
    assert time.time() - started < 120  # refused, not left pending


def test_non_preemptible_job_is_kept_off_a_spot_node_with_kubernetes_reason(host: Path) -> None:
    """The only node is labelled spot: a job that is not preemptible cannot land, and fails in one line naming the
    scheduler's reason once --kubernetesPodTimeout passes; the same job marked preemptible runs there."""
    env = kube_env()
    label_node(**{SPOT: "SPOT"})
    p = run_script(
        MEMORY, aws_locator(), "--use", "1", *kube_args(host, "--kubernetesPodTimeout", "5"), env=env, timeout=300
    )
    assert p.returncode != 0
    lines = [line for line in p.stderr.splitlines() if "FailedScheduling" in line]
    assert lines and ("node affinity" in lines[-1] or "node selector" in lines[-1]), p.stderr[-2000:]
    assert "not retried" in p.stderr  # it cannot be scheduled however often it is tried
    ok = run_script(MEMORY, aws_locator(), "--use", "1", *kube_args(host, "--defaultPreemptible"), env=env, timeout=300)
    assert ok.returncode == 0 and "ALLOCATED 1" in ok.stdout, ok.stderr[-2000:]


def test_an_unknown_service_account_is_one_line(host: Path) -> None:
    env = kube_env()
    p = run_script(
        MEMORY, aws_locator(), *kube_args(host, "--kubernetesServiceAccount", "nobody-here"), env=env, timeout=120
    )
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "nobody-here" in lines[0] and "Traceback" not in p.stderr, p.stderr


def test_a_file_job_store_outside_the_host_path_is_one_line(host: Path, tmp_path: Path) -> None:
    env = kube_env()
    p = run_script(MEMORY, f"file:{tmp_path / 'js'}", *kube_args(host), env=env, timeout=120)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "--kubernetesHostPath" in lines[0], p.stderr
    inside = run_script(MEMORY, f"file:{host / 'js'}", "--use", "1", *kube_args(host), env=env, timeout=300)
    assert inside.returncode == 0 and "ALLOCATED 1" in inside.stdout, inside.stderr[-2000:]


def _toil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A ``toil`` command (status, kill) as a user runs it, in the workflow's environment."""
    command = [sys.executable, "-m", "toil.cli.toil_main", *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def _start(host: Path, locator: str, env: dict[str, str], delay: float, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(SIDEFX),
            locator,
            "--n",
            "12",
            *kube_args(host, "--clean", "never", *side_env(host, delay), *more),
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_dashboard_shows_what_the_pods_reserve_on_each_node(host: Path) -> None:
    env = {**kube_env(), "SIDE_FILE": str(host / "side")}
    locator = aws_locator()
    leader = _start(host, locator, env, 8, "--metrics")
    try:

        def dashboard() -> str | None:
            out = _toil(env, "status", locator).stdout
            return out.split("Dashboard: ")[1].split()[0] if "Dashboard: " in out else None

        address = wait_for(dashboard, 180, "the dashboard's address in toil status", step=1.0)

        def reserved() -> tuple[float, float] | None:
            with urllib.request.urlopen(address + "api/series", timeout=10) as r:
                body = json.loads(r.read())
            peak = {
                c["id"]: max((v for ln in c["lines"] for v in ln["values"] if v), default=0) for c in body["charts"]
            }
            return (peak["cpu"], peak["memory"]) if peak["cpu"] and peak["memory"] else None

        # the node's series show the cores and memory this workflow's running pods asked for (the autoscaler
        # also reads them: a node running none of its pods is idle)
        cores, memory = wait_for(reserved, 240, "a pod's reservation in the node series", step=2.0)
        assert cores > 0 and memory >= 2**20  # the sidefx jobs ask for half a core each
        out, err = leader.communicate(timeout=600)
        assert leader.returncode == 0, err[-3000:]
        assert f"RESULT {expected(12)}" in out
    finally:
        leader.kill()
        leader.communicate()


def test_toil_kill_deletes_every_job_and_pod(host: Path) -> None:
    env = {**kube_env(), "SIDE_FILE": str(host / "side")}
    locator = aws_locator()
    leader = _start(host, locator, env, 60)
    try:
        # the root job sleeps in its pod: toil status names that pod
        wait_for(lambda: side_counts(host / "side")["root"], 180, "the root job to start")

        def status_names_a_running_pod() -> bool:
            status = _toil(env, "status", locator, "--printStatus")
            running = {o["metadata"]["name"] for o in objects("pods") if o["status"].get("phase") == "Running"}
            return any(f"batch system ID {name})" in status.stdout for name in running)

        wait_for(status_names_a_running_pod, 30, "toil status to name the running pod")
        killed = _toil(env, "kill", locator)
        assert killed.returncode == 0, killed.stderr
        _, err = leader.communicate(timeout=120)
        assert leader.returncode != 0
        assert not workflow_objects(), err[-2000:]
    finally:
        leader.kill()
        leader.communicate()


def test_a_leader_killed_with_9_then_restart_finishes_and_clears_the_old_pods(host: Path) -> None:
    env = {**kube_env(), "SIDE_FILE": str(host / "side")}
    locator = aws_locator()
    leader = _start(host, locator, env, 3)
    wait_for(lambda: side_counts(host / "side")["root"] and objects("pods"), 180, "pods to run")
    leader.send_signal(signal.SIGKILL)
    leader.communicate()
    assert objects("jobs")  # what the killed leader left
    p = run_script(
        SIDEFX, locator, "--n", "12", *kube_args(host, "--restart", *side_env(host, 3)), env=env, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"RESULT {expected(12)}" in p.stdout
    assert not workflow_objects()


def test_pods_deleted_at_random_mid_run_lose_no_job(host: Path) -> None:
    """A thread deletes running pods of the workflow; every job completes and none is counted as failed
    (--retryCount 0: a deletion counted as a failure would fail the workflow)."""
    env = {**kube_env(), "SIDE_FILE": str(host / "side")}
    stop = threading.Event()
    deleted: list[str] = []
    rng = random.Random(11)

    def chaos() -> None:
        while not stop.wait(rng.uniform(1.0, 3.0)):
            running = [o["metadata"]["name"] for o in objects("pods") if o["status"].get("phase") == "Running"]
            if running and len(deleted) < 4:
                victim = rng.choice(running)
                if kubectl("delete", "pod", victim, "--wait=false", check=False).returncode == 0:
                    deleted.append(victim)

    thread = threading.Thread(target=chaos, daemon=True)
    thread.start()
    try:
        args = kube_args(host, "--retryCount", "0", *side_env(host, 2))
        p = run_script(SIDEFX, aws_locator(), "--n", "12", *args, env=env, timeout=900)
    finally:
        stop.set()
        thread.join()
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"RESULT {expected(12)}" in p.stdout
    assert deleted, "the test deleted no pod"
