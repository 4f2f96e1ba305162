"""The chaos suite's workflow: about 500 jobs with a fan-out, chains, files, a service and a checkpoint.

Every job run appends 'NAME NODEID PID' to $SIDE_FILE, so the harness can see which jobs ran, how often,
and which process to kill. The result is a JSON summary exported to --output; it is the same for every
run of the same --scale, whatever was killed on the way.
"""

import hashlib
import json
import os
import time
import zlib

from toil.common import Toil
from toil.job import Job
from toil.jobStores.abstractJobStore import NoSuchFileException

SMALL = {"cores": 0.25, "memory": "20M", "disk": "4K"}


def mark(job, name):
    fd = os.open(os.environ["SIDE_FILE"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, f"{name} {job.jobStoreID} {os.getpid()}\n".encode())
    os.close(fd)
    delay = float(os.environ.get("JOB_DELAY", "0"))
    if delay:  # a spread of durations, the same for the same job in every run
        time.sleep(delay * (0.5 + (zlib.crc32(name.encode()) % 100) / 100))


def content(i):
    return (f"file {i}\n" * (50 + 7 * i)).encode()


def leaf(job, i):
    mark(job, f"leaf-{i}")
    return i * i


def link(job, c, i, n):
    mark(job, f"chain-{c}-{i}")
    if i + 1 < n:
        return job.addChildJobFn(link, c, i + 1, n, **SMALL).rv()
    return c * 1000 + i


def writer(job, i):
    mark(job, f"writer-{i}")
    path = job.fileStore.getLocalTempFile()
    with open(path, "wb") as f:
        f.write(content(i))
    return job.fileStore.writeGlobalFile(path)


def check_file(job, file_id, i, who):
    """The digest of a file the workflow wrote, or 'LOST' (also marked in the side file) if it is gone or
    differs. The engine's own errors (a file it knows is damaged) are left to fail the job."""
    try:
        with open(job.fileStore.readGlobalFile(file_id), "rb") as f:
            data = f.read()
        reason = "differs"
    except (FileNotFoundError, NoSuchFileException) as e:
        data, reason = None, type(e).__name__
    if data != content(i):
        mark(job, f"LOST-{who}-{i}-{reason}")
        return "LOST"
    return hashlib.sha256(data).hexdigest()[:16]


def reader(job, file_id, i):
    mark(job, f"reader-{i}")
    return check_file(job, file_id, i, "reader")


def ckpt_part(job, i):
    mark(job, f"ckpt-part-{i}")
    return 3 * i + 1


def ckpt_sum(job, parts):
    mark(job, "ckpt-sum")
    return sum(parts)


def checkpointed(job, n):
    mark(job, "checkpoint")
    parts = [job.addChildJobFn(ckpt_part, i, **SMALL).rv() for i in range(n)]
    return job.addFollowOnJobFn(ckpt_sum, parts, **SMALL).rv()


class Counter(Job.Service):
    def start(self, job):
        mark(job, "service")
        return "counter-service"

    def stop(self, job):
        pass


def total(job, leaves, chains, digests, file_ids, ckpt, address):
    mark(job, "total")
    again = [check_file(job, fid, i, "total") for i, fid in enumerate(file_ids)]
    summary = {
        "leaves": sum(leaves),
        "n_leaves": len(leaves),
        "chains": chains,
        "digests": digests,
        "reread": again,
        "checkpoint": ckpt,
        "service": address,
    }
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as f:
        json.dump(summary, f, sort_keys=True)
    return job.fileStore.writeGlobalFile(path)


def root(job, scale):
    mark(job, "root")
    address = job.addService(Counter(memory="20M", cores=0.1, disk="4K"))
    leaves = [job.addChildJobFn(leaf, i, **SMALL).rv() for i in range(300 * scale)]
    chains = [job.addChildJobFn(link, c, 0, 10, **SMALL).rv() for c in range(10 * scale)]
    digests, file_ids = [], []
    for i in range(40 * scale):
        w = job.addChildJobFn(writer, i, **SMALL)
        digests.append(w.addChildJobFn(reader, w.rv(), i, **SMALL).rv())
        file_ids.append(w.rv())
    ckpt = job.addChildJobFn(checkpointed, 15 * scale, checkpoint=True, **SMALL).rv()
    return job.addFollowOnJobFn(total, leaves, chains, digests, file_ids, ckpt, address, **SMALL).rv()


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--size", type=int, default=1, help="1: about 500 jobs")
    parser.add_argument("--output", required=True)
    options = parser.parse_args()
    with Toil(options) as toil:
        out = toil.restart() if options.restart else toil.start(Job.wrapJobFn(root, options.size, **SMALL))
        toil.exportFile(out, "file://" + os.path.abspath(options.output))
    print("DONE")
