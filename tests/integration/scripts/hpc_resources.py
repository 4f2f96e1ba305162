"""One job with the resources given on the command line, for checking what a scheduler recorded.

    python hpc_resources.py JOBSTORE --cores C --mem SIZE [--hog MIB] [toil options]

With --hog, the job holds that many MiB for three seconds (to exceed its memory). Prints ``RESULT ok``.
"""

import time

from toil.common import Toil
from toil.job import Job


def sized(job, hog_mib):
    if hog_mib:
        block = bytearray(hog_mib * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(3)
    return "ok"


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--cores", type=float, default=1)
    parser.add_argument("--mem", default="100Mi")
    parser.add_argument("--hog", type=int, default=0)
    options = parser.parse_args()
    with Toil(options) as toil:
        print(
            "RESULT", toil.start(Job.wrapJobFn(sized, options.hog, cores=options.cores, memory=options.mem, disk="1Mi"))
        )
