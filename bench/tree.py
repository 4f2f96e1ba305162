"""A binary tree of depth D built dynamically; leaves return 1, follow-ons sum pairs.

python bench/tree.py D
"""

from common import arg, run

from toil.job import Job


def add(a, b):
    return a + b


def node(job, depth):
    if depth == 0:
        return 1
    left = job.addChildJobFn(node, depth - 1).rv()
    right = job.addChildJobFn(node, depth - 1).rv()
    return job.addFollowOnFn(add, left, right).rv()


if __name__ == "__main__":
    d = arg(1, 10)
    jobs = (2 ** (d + 1) - 1) + (2**d - 1)
    run(f"tree-depth-{d}", Job.wrapJobFn(node, d), jobs=jobs, expect=2**d)
