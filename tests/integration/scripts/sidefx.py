"""A workflow whose every job leaves a line in a side-effect file, for crash/restart tests.

Each line is 'NAME NODEID'. The workflow has a fan-out summed through
promises, a chain, a file passed between jobs, a follow-on and a service.
"""

import os
import time

from toil.common import Toil
from toil.job import Job


def mark(job, name):
    with open(os.environ["SIDE_FILE"], "a") as f:
        f.write(f"{name} {job.jobStoreID}\n")
    delay = float(os.environ.get("JOB_DELAY", "0"))
    if delay:
        time.sleep(delay)


def leaf(job, i):
    mark(job, f"leaf-{i}")
    return i


def chain(job, i, n):
    mark(job, f"chain-{i}")
    if i < n:
        return job.addChildJobFn(chain, i + 1, n).rv()
    return i


def writer(job):
    mark(job, "writer")
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as f:
        f.write("payload")
    return job.fileStore.writeGlobalFile(path)


def reader(job, file_id):
    mark(job, "reader")
    with open(job.fileStore.readGlobalFile(file_id)) as f:
        return len(f.read())


def total(job, parts, chain_end, size, address):
    mark(job, "total")
    return sum(parts) + chain_end + size + len(address)


class Service(Job.Service):
    def start(self, job):
        return "svc"

    def stop(self, job):
        pass


def root(job, n):
    mark(job, "root")
    address = job.addService(Service(memory="10M", cores=0.1, disk="1M"))
    parts = [job.addChildJobFn(leaf, i, cores=0.5, memory="10M", disk="1M").rv() for i in range(n)]
    chain_end = job.addChildJobFn(chain, 0, 8, cores=0.5, memory="10M", disk="1M").rv()
    w = job.addChildJobFn(writer, cores=0.5, memory="10M", disk="1M")
    size = w.addChildJobFn(reader, w.rv(), cores=0.5, memory="10M", disk="1M").rv()
    return job.addFollowOnJobFn(total, parts, chain_end, size, address, cores=0.5, memory="10M", disk="1M").rv()


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    options = parser.parse_args()
    with Toil(options) as toil:
        value = (
            toil.restart()
            if options.restart
            else toil.start(Job.wrapJobFn(root, options.n, cores=0.5, memory="10M", disk="1M"))
        )
    print(f"RESULT {value}")
