"""Each job writes a 400 kB global file: fills a small disk, for disk-full tests."""

import os

from toil.common import Toil
from toil.job import Job


def big(job, i):
    p = job.fileStore.getLocalTempFile()
    with open(p, "wb") as f:
        f.write(os.urandom(400_000))
    return job.fileStore.writeGlobalFile(p)


def fan(job, n):
    return [job.addChildJobFn(big, i, memory="10M", disk="1M").rv() for i in range(n)]


if __name__ == "__main__":
    o = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(o) as t:
        r = (
            t.restart()
            if o.restart
            else t.start(Job.wrapJobFn(fan, int(os.environ.get("N", "20")), disk="1M", memory="10M"))
        )
    print("RESULT", len(r))
