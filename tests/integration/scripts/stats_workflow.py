"""A small workflow for 'toil stats': a root with six children of two kinds, one writing a file, and a follow-on.

Run as ``python stats_workflow.py JOBSTORE --stats``; prints ``RESULT <value>``.
"""

import time

from toil.common import Toil
from toil.job import Job


def sleeper(job, i):
    time.sleep(0.1)
    return i


def writer(job, i):
    time.sleep(0.1)
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as f:
        f.write(f"payload {i}\n" * 100)
    job.fileStore.writeGlobalFile(path)
    return 10 * i


def gather(job, values):
    return sum(values)


def root(job):
    values = [
        job.addChildJobFn(sleeper if i % 2 else writer, i, cores=0.5, memory="20M", disk="5M").rv() for i in range(6)
    ]
    return job.addFollowOnJobFn(gather, values, cores=0.5, memory="20M", disk="5M").rv()


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        value = (
            toil.restart() if options.restart else toil.start(Job.wrapJobFn(root, cores=0.5, memory="20M", disk="5M"))
        )
    print(f"RESULT {value}")
