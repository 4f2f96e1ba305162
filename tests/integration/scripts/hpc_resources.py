"""One job with the resources given on the command line, for checking what a scheduler recorded.

    python hpc_resources.py JOBSTORE --cores C --mem SIZE [toil options]
Prints ``RESULT ok``.
"""
from toil.common import Toil
from toil.job import Job


def sized(job):
    return "ok"


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--cores", type=float, default=1)
    parser.add_argument("--mem", default="100Mi")
    options = parser.parse_args()
    with Toil(options) as toil:
        print("RESULT", toil.start(Job.wrapJobFn(sized, cores=options.cores, memory=options.mem, disk="1Mi")))
