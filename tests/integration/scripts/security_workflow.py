"""A workflow that makes the engine write in every place it writes: imports, global files, cached reads,
streams, deferred functions, messages to the leader, logs, stats and a failing job.

Run as ``python security_workflow.py JOBSTORE --input FILE --tool EXE --check OUT [--fail] [toil options]``.
The job ``check`` writes to OUT a digest of the secret environment variables it sees (never the values),
so a test can tell that jobs still get the leader's environment. With ``--fail`` one job fails.
"""

import hashlib
import json
import os

from toil.common import Toil
from toil.job import Job

SECRETS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "TOIL_TEST_API_TOKEN",
    "MY_API_TOKEN",
    "SETENV_PASSWORD",
)


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def noop(*args):
    pass


def writer(job, i):
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as f:
        f.write(f"payload {i}\n" * 10)
    job.log(f"writer {i} wrote its file")
    with job.fileStore.writeGlobalFileStream() as (stream, streamed):
        stream.write(b"streamed\n")
    return [job.fileStore.writeGlobalFile(path), streamed]


def reader(job, files, imported, tool, check, fail):
    if fail:
        job.addChildJobFn(fails, cores=0.5, memory="20M", disk="5M")
    job.defer(noop, "deferred")
    local = [job.fileStore.readGlobalFile(f) for pair in files for f in pair]
    local.append(job.fileStore.readGlobalFile(imported, mutable=True))
    local.append(job.fileStore.readGlobalFile(tool, mutable=True))
    local.append(job.fileStore.readGlobalFile(imported, userPath=os.path.join(job.tempDir, "sub", "copy.txt")))
    job.fileStore.getLocalTempDir()
    job.fileStore.logToMaster("reader read %d files" % len(local))
    with open(check, "w") as f:
        json.dump({name: digest(os.environ.get(name, "")) for name in SECRETS}, f)
    return len(local)


def fails(job):
    raise RuntimeError("this job fails on purpose")


def root(job, imported, tool, check, fail):
    files = [job.addChildJobFn(writer, i, cores=0.5, memory="20M", disk="5M").rv() for i in range(2)]
    job.addFollowOnJobFn(reader, files, imported, tool, check, fail, cores=0.5, memory="20M", disk="5M")


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--check", required=True)
    parser.add_argument("--fail", action="store_true")
    options = parser.parse_args()
    with Toil(options) as toil:
        imported = toil.importFile("file://" + os.path.abspath(options.input), symlink=False)
        tool = toil.importFile("file://" + os.path.abspath(options.tool), symlink=False)
        linked = toil.importFile("file://" + os.path.abspath(options.input))
        value = toil.start(
            Job.wrapJobFn(root, imported, tool, options.check, options.fail, cores=0.5, memory="20M", disk="5M")
        )
    print(f"RESULT {value}")
