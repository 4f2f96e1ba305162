"""A chain of N jobs, each adding the next as its child.

    python bench/chain.py N [chaining: 1|0]

With chaining off every job goes through the leader, so wall/N is the
per-job overhead of issuing, running and recording a job.
"""

from common import arg, run

from toil.job import Job


def link(job, i, n):
    if i < n:
        return job.addChildJobFn(link, i + 1, n).rv()
    return i


if __name__ == "__main__":
    n, chaining = arg(1, 1000), arg(2, 1)
    run(
        f"chain-{n}{'' if chaining else '-unchained'}",
        Job.wrapJobFn(link, 1, n),
        jobs=n,
        expect=n,
        disableChaining=not chaining,
    )
