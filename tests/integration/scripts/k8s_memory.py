"""One job that holds --use MiB of memory for a moment, asking for --ask memory and --cores cores."""

import time

from toil.common import Toil
from toil.job import Job


def hold(job, mib):
    block = bytearray(mib * 2**20)
    for i in range(0, len(block), 4096):  # touch every page, so the memory is really used
        block[i] = 1
    time.sleep(0.5)
    return mib


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--use", type=int, default=1)
    parser.add_argument("--ask", default="100M")
    parser.add_argument("--cores", type=float, default=1)
    options = parser.parse_args()
    with Toil(options) as toil:
        print(
            "ALLOCATED",
            toil.start(Job.wrapJobFn(hold, options.use, memory=options.ask, cores=options.cores, disk="10M")),
        )
