"""Fan-out of N trivial jobs on the local Slurm: wall time and sbatch submissions, packing on and off,
beside Toil 9.6 on the same Slurm.

    bash infra/slurm-up.sh 1                  # the one-node Slurm
    python bench/slurm_fanout.py [N] [--skip-toil]

Toil 9.6 runs from its own virtualenv, bench/toil-venv (python3 -m venv bench/toil-venv &&
bench/toil-venv/bin/pip install 'toil==9.6.*'); it is never a dependency of this project. Each run is
one process, `python bench/slurm_fanout.py --one N [extra options]`, with that virtualenv's python for
Toil. Submissions are counted with sacct over the run's time window.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOIL_VENV_PYTHON = os.path.join(HERE, "toil-venv", "bin", "python")


def one(i):
    return i


def total(values):
    return sum(values)


def fan(job, n):
    return job.addFollowOnFn(
        total,
        [job.addChildFn(one, i, cores=1, memory="100Mi", disk="10Mi").rv() for i in range(n)],
        cores=1,
        memory="100Mi",
        disk="10Mi",
    ).rv()


def run_one(n: int, extra: list[str]) -> None:
    """Run the fan-out in this interpreter (ours or Toil 9.6, whichever `toil` it imports)."""
    from toil.common import Toil
    from toil.job import Job

    with tempfile.TemporaryDirectory(prefix="bench-slurm-", dir=os.path.join(HERE, ".work")) as tmp:
        parser = Job.Runner.getDefaultArgumentParser()
        options = parser.parse_args(
            [os.path.join(tmp, "js"), "--batchSystem", "slurm", "--logLevel", "WARNING", "--workDir", tmp, *extra]
        )
        with Toil(options) as toil:
            value = toil.start(Job.wrapJobFn(fan, n, cores=1, memory="100Mi", disk="10Mi"))
    if value != n * (n - 1) // 2:
        raise SystemExit(f"wrong result {value}")


def slurm_jobs_since(start: float) -> int:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(start - 1))
    out = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-S", stamp, "-o", "JobIDRaw"], capture_output=True, text=True
    ).stdout.split()
    return len(out)


def measure(label: str, python: str, n: int, extra: list[str]) -> dict:
    start = time.time()
    # as with an activated virtualenv: Toil 9.6 finds its _toil_worker on PATH on the nodes
    env = {**os.environ, "PATH": os.path.dirname(python) + os.pathsep + os.environ.get("PATH", "")}
    p = subprocess.run(
        [python, os.path.abspath(__file__), "--one", str(n), *extra], capture_output=True, text=True, env=env
    )
    wall = time.time() - start
    if p.returncode != 0:
        raise SystemExit(f"{label} failed: {p.stderr[-2000:]}")
    time.sleep(2)  # let accounting catch up
    submissions = slurm_jobs_since(start)
    figures = {
        "benchmark": f"slurm-fanout-{n}",
        "runner": label,
        "wall_s": round(wall, 1),
        "sbatch_submissions": submissions,
        "jobs_per_submission": round((n + 2) / max(1, submissions), 1),
    }
    print(json.dumps(figures))
    sys.stdout.flush()
    return figures


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        run_one(int(sys.argv[2]), sys.argv[3:])
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1000
    os.makedirs(os.path.join(HERE, ".work"), exist_ok=True)
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True).stdout.split()
    print(json.dumps({"slurm_nodes": len(set(nodes))}))
    ours = measure("toil (this project), packing on", sys.executable, n, [])
    measure("toil (this project), --packJobs false", sys.executable, n, ["--packJobs", "false"])
    if "--skip-toil" not in sys.argv and os.path.exists(TOIL_VENV_PYTHON):
        theirs = measure("Toil 9.6", TOIL_VENV_PYTHON, n, [])
        print(json.dumps({"speedup_vs_toil_9_6": round(theirs["wall_s"] / ours["wall_s"], 1), "target": 20}))


if __name__ == "__main__":
    main()
