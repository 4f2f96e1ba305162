"""Fan-out of N trivial jobs on the local one-node Kubernetes: wall time, pods created and leader peak RSS, beside
Toil 9.6's kubernetes batch system on the same cluster.

    bash infra/k8s-up.sh && make appliance && bash infra/appliance.sh --toil-9.6
    python bench/k8s_fanout.py [N ...] [--skip-toil] [--toil-limit SECONDS]     # default: 200 1000

With --toil-limit, a Toil 9.6 run still going after that long is stopped (SIGTERM: its leader deletes its Jobs);
its wall time is then a lower bound, and so is the speed-up printed.

Each run is one process, ``python bench/k8s_fanout.py --one N STORE [options]``, with this project's Python or
with Toil 9.6's (bench/toil-venv: python3 -m venv bench/toil-venv && bench/toil-venv/bin/pip install
'toil[aws,kubernetes]==9.6.0' 'kubernetes==29.0.0'; never a dependency of this project: with the newest client it
allows, 9.6 stops at its first look at a pod on a cluster without a metrics server, because that client raises
NotFoundException, which 9.6 does not take for ApiException). Toil 9.6 runs its pods from
localhost/toil96 (infra/appliance.sh --toil-9.6), tagged with its commit so it does not ask a registry.

Both use a ``file:`` job store on a host path every pod mounts (--kubernetesHostPath, the work directory):
Toil 9.6's aws: store cannot use moto_server (its bucket set-up sends a PutBucketEncryption moto rejects).
This project also runs on its ``aws:`` store on moto_server, its intended set-up on a cluster. Pods are counted
with a watch on the label both projects give every pod (``toil_run``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOIL_VENV_PYTHON = os.path.join(HERE, "toil-venv", "bin", "python")
KUBECONFIG = os.environ.get("KUBECONFIG", "/opt/k8s/kubeconfig")
TOIL96_IMAGE = "localhost/toil96:9.6.0"
JOB = {"cores": 1, "memory": "100Mi", "disk": "10Mi"}  # a whole core: Toil 9.6 makes limits equal requests


def one(i):
    return i


def total(values):
    return sum(values)


def fan(job, n):
    return job.addFollowOnFn(total, [job.addChildFn(one, i, **JOB).rv() for i in range(n)], **JOB).rv()


def run_one(n: int, store: str, extra: list[str]) -> None:
    """Run the fan-out in this interpreter (ours or Toil 9.6, whichever ``toil`` it imports)."""
    from toil.common import Toil
    from toil.job import Job

    shared = os.path.join(HERE, ".work")
    with tempfile.TemporaryDirectory(prefix="bench-k8s-", dir=shared) as tmp:
        locator = os.path.join(tmp, "js") if store == "file" else store
        parser = Job.Runner.getDefaultArgumentParser()
        options = parser.parse_args(
            [locator, "--batchSystem", "kubernetes", "--kubernetesHostPath", tmp, "--workDir", tmp]
            + ["--logLevel", "WARNING", *extra]
        )
        with Toil(options) as toil:
            value = toil.start(Job.wrapJobFn(fan, n, **JOB))
    if value != n * (n - 1) // 2:
        raise SystemExit(f"wrong result {value}")


class PodCounter:
    """The pods of the workflow run while it watches: of the ``toil_run`` label values first seen then (any other
    workflow on the cluster has its own), the one with the most pods."""

    def __init__(self) -> None:
        from kubernetes import client, config

        config.load_kube_config(KUBECONFIG)
        self.core = client.CoreV1Api()
        self.by_run: dict[str, set[str]] = {}
        self.before = {p.metadata.labels.get("toil_run") for p in self.core.list_namespaced_pod("default").items}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PodCounter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    @property
    def count(self) -> int:
        return max((len(names) for names in self.by_run.values()), default=0)

    def delete_run(self) -> None:
        """Delete the Jobs and pods of the watched run (a run stopped at its limit may leave some)."""
        from kubernetes import client

        if not self.by_run:
            return
        run = max(self.by_run, key=lambda r: len(self.by_run[r]))
        selector = f"toil_run={run}"
        client.BatchV1Api().delete_collection_namespaced_job(
            "default", label_selector=selector, propagation_policy="Background"
        )
        self.core.delete_collection_namespaced_pod("default", label_selector=selector, grace_period_seconds=0)

    def _run(self) -> None:
        from kubernetes import watch

        while not self.stop.is_set():
            try:
                for event in watch.Watch().stream(
                    self.core.list_namespaced_pod, "default", label_selector="toil_run", timeout_seconds=2
                ):
                    meta = event["object"].metadata
                    run = (meta.labels or {}).get("toil_run")
                    if run and run not in self.before:
                        self.by_run.setdefault(run, set()).add(meta.name)
                    if self.stop.is_set():
                        return
            except Exception:  # noqa: BLE001 - a dropped watch: watch again
                time.sleep(0.2)


def stop_at(proc: subprocess.Popen, limit: float | None, stopped: threading.Event) -> threading.Timer | None:
    """SIGTERM the run after ``limit`` seconds (its leader then deletes its Jobs), SIGKILL 60 s later."""
    if limit is None:
        return None

    def stop() -> None:
        stopped.set()
        proc.terminate()
        threading.Timer(60, proc.kill).start()

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    timer.start()
    return timer


def measure(
    label: str, python: str, n: int, store: str, extra: list[str], env: dict[str, str], limit: float | None = None
) -> dict:
    """One run's figures; a run still going after ``limit`` seconds is stopped, and its figures say so."""
    import warnings

    warnings.filterwarnings("ignore")
    stopped = threading.Event()
    with PodCounter() as pods:
        start = time.time()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [python, os.path.abspath(__file__), "--one", str(n), store, *extra],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, **env, "PATH": os.path.dirname(python) + os.pathsep + os.environ["PATH"]},
            )
            timer = stop_at(proc, limit, stopped)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.time() - start
            if timer is not None:
                timer.cancel()
            err.seek(0)
            stderr = err.read().decode(errors="replace")
        time.sleep(1)  # the last pods' events
        if stopped.is_set():
            pods.delete_run()
    if proc.returncode != 0 and not stopped.is_set():
        raise SystemExit(f"{label} failed: {stderr[-2000:]}")
    figures = {
        "benchmark": f"k8s-fanout-{n}",
        "runner": label,
        "job_store": store.split(":")[0],
        "wall_s": round(wall, 1),
        "pods_created": pods.count,
        "jobs_per_pod": round((n + 2) / max(1, pods.count), 1),
        "leader_peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }
    if stopped.is_set():  # the wall time is a lower bound; pods created, how far it got (one pod per job)
        figures.update(finished=False, stopped_after_s=limit, jobs_per_pod=None)
    print(json.dumps(figures))
    sys.stdout.flush()
    return figures


def toil96_image() -> str | None:
    """Toil 9.6's appliance under a tag holding its commit (then Toil does not ask a registry), or None."""
    p = subprocess.run(
        [TOIL_VENV_PYTHON, "-c", "import toil.version as v; print(v.currentCommit)"], capture_output=True, text=True
    )
    commit = p.stdout.strip()
    if p.returncode != 0 or not commit:
        return None
    tagged = f"localhost/toil96:{commit}"
    names = subprocess.run(["ctr", "-n", "k8s.io", "images", "ls", "-q"], capture_output=True, text=True).stdout
    if tagged not in names.split():
        if TOIL96_IMAGE not in names.split():
            return None
        subprocess.run(["ctr", "-n", "k8s.io", "images", "tag", TOIL96_IMAGE, tagged], check=True, capture_output=True)
    return tagged


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        run_one(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
        return
    args = sys.argv[1:]
    toil_limit = float(args[args.index("--toil-limit") + 1]) if "--toil-limit" in args else None
    if toil_limit is not None:
        del args[args.index("--toil-limit") : args.index("--toil-limit") + 2]
    sizes = [int(a) for a in args if not a.startswith("--")] or [200, 1000]
    os.makedirs(os.path.join(HERE, ".work"), exist_ok=True)
    os.environ["KUBECONFIG"] = KUBECONFIG
    sys.path.insert(0, os.path.dirname(HERE))
    from tests.objectstores import aws_locator, s3_env

    aws = s3_env("moto")
    image = None if "--skip-toil" in sys.argv or not os.path.exists(TOIL_VENV_PYTHON) else toil96_image()
    if image is None and "--skip-toil" not in sys.argv:
        missing = "bench/toil-venv or its appliance (infra/appliance.sh --toil-9.6) is missing"
        print(json.dumps({"toil_9_6": f"not run: {missing}"}))
    for n in sizes:
        ours = measure("toil (this project)", sys.executable, n, "file", [], {})
        measure("toil (this project)", sys.executable, n, aws_locator("bench"), [], aws)
        if image is not None:
            env = {"TOIL_APPLIANCE_SELF": image}
            theirs = measure("Toil 9.6", TOIL_VENV_PYTHON, n, "file", [], env, limit=toil_limit)
            ratio = round(theirs["wall_s"] / ours["wall_s"], 1)
            bound = "speedup_vs_toil_9_6" if theirs.get("finished", True) else "speedup_vs_toil_9_6_at_least"
            print(json.dumps({"benchmark": f"k8s-fanout-{n}", bound: ratio, "target": 10}))


if __name__ == "__main__":
    main()
