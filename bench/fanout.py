"""Fan-out of N trivial function jobs whose results are summed through promises.

python bench/fanout.py N
"""

from common import arg, run

from toil.job import Job


def one(i):
    return i


def fan(job, n):
    return job.addFollowOnFn(sum, [job.addChildFn(one, i).rv() for i in range(n)]).rv()


if __name__ == "__main__":
    n = arg(1, 1000)
    # Toil's defaults: 1 core, 2 GiB each, so the 2-core machine runs 2 at a time
    run(f"fanout-{n}", Job.wrapJobFn(fan, n), jobs=n + 2, expect=n * (n - 1) // 2)
