"""Wall time of `toil status` and `toil stats` on a job store of N jobs (target: under 1 s at 100k).

    python bench/status_stats.py [N] [JOBSTORE_DIR]

Builds the job store once with a real run (--stats, --clean never): N/1000
fan-out children, each the head of a chain of 1000 jobs; kept under
bench/.work/ and reused by later runs. Then times each command as a user
runs it (a fresh `toil` process), best of three.

Then the hard case: a fan-out of N jobs whose leader is killed (SIGKILL)
half way, so `toil status` cannot trust the status file and replays the
job store's snapshot and journal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from common import arg

from toil.common import Toil
from toil.job import Job

CHAIN = 1000


def link(job, left):
    if left > 1:
        job.addFollowOnJobFn(link, left - 1)


def fan(job, heads):
    for _ in range(heads):
        job.addChildJobFn(link, CHAIN)


def leaf(job):
    pass


def wide(job, n):
    for _ in range(n):
        job.addChildJobFn(leaf, cores=0.1, memory="10M", disk="1M")


def crashed_store(path: str, n: int) -> None:
    """A fan-out of n leaves whose leader is SIGKILLed once half of them finished."""
    import shutil
    import signal

    shutil.rmtree(path, ignore_errors=True)
    script = (
        f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
        f"import status_stats as b; from toil.common import Toil; from toil.job import Job; "
        f"o = Job.Runner.getDefaultOptions('file:{path}'); o.logLevel = 'WARNING'; "
        f"Toil(o).__enter__().start(Job.wrapJobFn(b.wide, {n}, cores=0.1, memory='10M', disk='1M'))"
    )
    leader = subprocess.Popen([sys.executable, "-c", script])
    while leader.poll() is None:
        time.sleep(2)
        _, out = best_of(["status", path], tries=1) if os.path.exists(os.path.join(path, "status.json")) else (0, "")
        finished = int(out.split(" finished")[0].rsplit(" ", 1)[1]) if " finished" in out else 0
        if finished >= n // 2:
            leader.send_signal(signal.SIGKILL)
            break
    leader.wait()


def build(path: str, n: int) -> float:
    opts = Job.Runner.getDefaultOptions(f"file:{path}")
    opts.logLevel = "WARNING"
    opts.clean = "never"
    opts.stats = True
    start = time.perf_counter()
    with Toil(opts) as toil:
        toil.start(Job.wrapJobFn(fan, max(1, n // CHAIN)))
    return time.perf_counter() - start


def best_of(argv: list[str], tries: int = 3) -> tuple[float, str]:
    toil = os.path.join(os.path.dirname(sys.executable), "toil")
    best, out = float("inf"), ""
    for _ in range(tries):
        start = time.perf_counter()
        p = subprocess.run([toil, *argv], capture_output=True, text=True)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            raise SystemExit(f"toil {' '.join(argv)} failed: {p.stderr.strip()}")
        best, out = min(best, wall), p.stdout
    return best, out


def main() -> None:
    n = arg(1, 100_000)
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), ".work", f"status-{n}")
    if not os.path.exists(os.path.join(path, "toil.json")):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        print(json.dumps({"benchmark": f"build-{n}", "wall_s": round(build(path, n), 1)}))
    for argv in (
        ["status", path],
        ["status", path, "--failed", "--printStatus"],
        ["stats", path],
        ["stats", path, "--raw"],
    ):
        wall, out = best_of(argv)
        first = out.splitlines()[1] if argv[0] == "status" and len(out.splitlines()) > 1 else ""
        print(
            json.dumps(
                {
                    "benchmark": "toil " + " ".join(a if a != path else "JOBSTORE" for a in argv),
                    "jobs": n,
                    "wall_s": round(wall, 3),
                    "target_s": 1.0,
                    "note": first,
                }
            )
        )
        sys.stdout.flush()
    crashed = path + "-crashed"
    crashed_store(crashed, n)
    time.sleep(3)  # the killed leader's job processes exit
    wall, out = best_of(["status", crashed])
    print(
        json.dumps(
            {
                "benchmark": "toil status CRASHED_JOBSTORE (journal replay)",
                "jobs": n,
                "wall_s": round(wall, 3),
                "target_s": 1.0,
                "note": " ".join(out.split()),
            }
        )
    )


if __name__ == "__main__":
    main()
