"""A workflow to steer with the `toil` utility: a fan-out of `work` jobs summed by a follow-on.

    python utils_workflow.py JOBSTORE [--n N] [--sleep S] [--fail-at I] [--pid-dir DIR] [toil options]

Each `work` job records its pid in --pid-dir (to check kills), prints a line to
its log, sleeps S seconds or until the file GO exists, and fails if its index is
--fail-at unless the file FIXED exists (so a restart after the "fix" succeeds).
Both files are looked for in $FIX_DIR, by default the current directory.
Prints ``RESULT <sum>``.
"""

import os
import time

from toil.common import Toil
from toil.job import Job


def work(job, i, sleep, fail_at, pid_dir):
    if pid_dir:
        with open(os.path.join(pid_dir, f"{i}.pid"), "w") as f:
            f.write(str(os.getpid()))
    print(f"work {i} is running")
    deadline = time.time() + sleep
    while time.time() < deadline and not os.path.exists(os.path.join(os.environ.get("FIX_DIR", "."), "GO")):
        time.sleep(0.05)
    if i == fail_at and not os.path.exists(os.path.join(os.environ.get("FIX_DIR", "."), "FIXED")):
        raise RuntimeError(f"work {i} was told to fail")
    return i


def total(job, values):
    return sum(values)


def fan(job, n, sleep, fail_at, pid_dir):
    values = [
        job.addChildJobFn(work, i, sleep, fail_at, pid_dir, cores=1, memory="50M", disk="1M").rv() for i in range(n)
    ]
    return job.addFollowOnJobFn(total, values, cores=0.1, memory="50M", disk="1M").rv()


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--fail-at", type=int, default=-1)
    parser.add_argument("--pid-dir", default="")
    options = parser.parse_args()
    with Toil(options) as toil:
        if options.restart:
            value = toil.restart()
        else:
            value = toil.start(
                Job.wrapJobFn(
                    fan, options.n, options.sleep, options.fail_at, options.pid_dir, cores=0.1, memory="50M", disk="1M"
                )
            )
    print(f"RESULT {value}")
