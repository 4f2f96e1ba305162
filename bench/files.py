"""N jobs, each writing a 1 MiB global file and reading it back.

python bench/files.py N
"""

import hashlib
import os

from common import arg, run

from toil.job import Job

MIB = 1024 * 1024


def write_and_read(job, i):
    data = os.urandom(MIB)
    path = job.fileStore.getLocalTempFile()
    with open(path, "wb") as f:
        f.write(data)
    file_id = job.fileStore.writeGlobalFile(path)
    with open(job.fileStore.readGlobalFile(file_id, mutable=True), "rb") as f:
        back = f.read()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    return file_id.size


def fan(job, n):
    return job.addFollowOnFn(sum, [job.addChildJobFn(write_and_read, i).rv() for i in range(n)]).rv()


if __name__ == "__main__":
    n = arg(1, 100)
    run(f"files-{n}x1MiB", Job.wrapJobFn(fan, n), jobs=n + 2, expect=n * MIB)
