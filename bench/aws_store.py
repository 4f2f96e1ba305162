"""The aws: job store beside the file: store, on a moto_server of its own (real HTTP on 127.0.0.1).

    python bench/aws_store.py [--jobs 1000] [--mib 1024] [--port 5055]

1. A fan-out of N jobs summed through promises (local batch system), once on a file: store and once on an
   aws: store: wall time of each, their ratio, and the S3 requests the run made per job (counted in the
   server's request log, so the leader's and every worker's requests are in it).
2. One file of MIB MiB written into the aws: store and read back (write_file / read_file), beside a plain
   boto3 upload_file / download_file of the same file to the same server: MB/s of each and the ratio.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
FANOUT = """
import sys
from toil.common import Toil
from toil.job import Job
def square(x):
    return x * x
def fan_out(job, n):
    return job.addFollowOnFn(sum, [job.addChildFn(square, i).rv() for i in range(n)]).rv()
if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--n", type=int)
    options = parser.parse_args()
    with Toil(options) as toil:
        print(toil.start(Job.wrapJobFn(fan_out, options.n)))
"""


def start_moto(port: int, log_path: str) -> subprocess.Popen[bytes]:
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=open(log_path, "wb"), stderr=subprocess.STDOUT
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def requests_in(log_path: str) -> int:
    with open(log_path, "rb") as f:
        return sum(1 for line in f if b'HTTP/1.1"' in line and b"moto-api" not in line)


def fan_out(locator: str, n: int, env: dict[str, str], script: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, script, locator, "--n", str(n), "--logLevel", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0 or done.stdout.strip() != str(sum(i * i for i in range(n))):
        raise SystemExit(f"fan-out on {locator} failed: {done.stderr[-2000:]}")
    return wall


def transfer(port: int, mib: int, env: dict[str, str], rounds: int = 2) -> tuple[float, float, float, float]:
    """Best of ``rounds`` (store write MB/s, store read MB/s, boto3 upload MB/s, boto3 download MB/s), the
    store's and boto3's transfers taking turns so that neither always meets the server fresh."""
    import boto3

    os.environ.update(env)
    from toil.runtime.jobstores import open_job_store

    tmp = tempfile.mkdtemp(prefix="aws-bench-")
    src = os.path.join(tmp, "big.bin")
    with open(src, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    size_mb = mib * (1 << 20) / 1e6
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})

    def timed(call: Callable[[], object]) -> float:
        t = time.perf_counter()
        call()
        return size_mb / (time.perf_counter() - t)

    def store_round() -> tuple[float, float]:
        store = open_job_store(f"aws:us-west-2:bench-{uuid.uuid4().hex[:12]}")
        store.create({"workflow_id": "bench"})
        file_id: list[str] = []
        write = timed(lambda: file_id.append(store.write_file(src)[0]))
        read = timed(lambda: store.read_file(file_id[0], os.path.join(tmp, "back.bin")))
        store.destroy()
        os.unlink(os.path.join(tmp, "back.bin"))
        return write, read

    def plain_round() -> tuple[float, float]:
        up = timed(lambda: s3.upload_file(src, bucket, "big.bin"))
        down = timed(lambda: s3.download_file(bucket, "big.bin", os.path.join(tmp, "plain.bin")))
        s3.delete_object(Bucket=bucket, Key="big.bin")
        os.unlink(os.path.join(tmp, "plain.bin"))
        return up, down

    best = [0.0, 0.0, 0.0, 0.0]
    for _ in range(rounds):
        best = [max(b, m) for b, m in zip(best, (*store_round(), *plain_round()))]
    s3.delete_bucket(Bucket=bucket)
    subprocess.run(["rm", "-rf", tmp])
    return best[0], best[1], best[2], best[3]


def compare_toil96(n: int, env: dict[str, str], script: str, log_path: str, port: int) -> None:
    """The same fan-out on Toil 9.6's aws job store (bench/toil-venv), on the same server, beside this one."""
    toil96 = os.path.join(HERE, "toil-venv", "bin", "python")
    if not os.path.exists(toil96):
        print("Toil 9.6 beside it: not run (bench/toil-venv is not installed on this machine)")
        return
    # every AWS client Toil makes goes to moto (boto3's AWS_ENDPOINT_URL), never to AWS or an instance metadata
    # service
    env96 = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true"}
    rows = []
    for label, python in (("this project", sys.executable), ("Toil 9.6", toil96)):
        before = requests_in(log_path)
        start = time.perf_counter()
        done = subprocess.run(
            [python, script, f"aws:us-west-2:cmp-{uuid.uuid4().hex[:12]}", "--n", str(n), "--logLevel", "WARNING"],
            env=env96,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0 or done.stdout.strip() != str(sum(i * i for i in range(n))):
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"{label} cannot run on this server: {why}")
            return
        rows.append((label, wall, requests_in(log_path) - before))
    print(f"fan-out {n} on an aws: store, same moto_server:")
    for label, wall, requests in rows:
        print(f"  {label:<13}{wall:8.2f} s   {requests:6d} S3 requests ({requests / (n + 2):.1f} per job)")
    print(f"  Toil 9.6 / this project: {rows[1][1] / rows[0][1]:.1f}x the wall time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--toil-jobs", type=int, default=100, help="fan-out size for the Toil 9.6 comparison")
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="aws-store-bench-")
    log_path = os.path.join(work, "moto.log")
    script = os.path.join(work, "fanout.py")
    with open(script, "w") as f:
        f.write(FANOUT)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TOIL_S3_HOST": "127.0.0.1",
        "TOIL_S3_PORT": str(opts.port),
        "TOIL_S3_USE_SSL": "false",
        "TOIL_WORKDIR": work,
    }
    moto = start_moto(opts.port, log_path)
    try:
        file_wall = fan_out(os.path.join(work, "js"), opts.jobs, env, script)
        before = requests_in(log_path)
        aws_wall = fan_out(f"aws:us-west-2:fan-{uuid.uuid4().hex[:12]}", opts.jobs, env, script)
        requests = requests_in(log_path) - before
        jobs = opts.jobs + 2
        print(f"fan-out {opts.jobs} through promises (local batch system, {jobs} jobs):")
        print(f"  file: store  {file_wall:7.2f} s")
        print(f"  aws: store   {aws_wall:7.2f} s   ({aws_wall / file_wall:.1f}x the file: store; target <= 3x)")
        print(f"  S3 requests  {requests} ({requests / jobs:.2f} per job; target <= 4)")
        if opts.mib:
            write, read, up, down = transfer(opts.port, opts.mib, env)
            print(f"{opts.mib} MiB file through the aws: store vs plain boto3, same server (best of 2 rounds each):")
            print(f"  write {write:7.1f} MB/s   boto3 upload_file   {up:7.1f} MB/s   ({write / up:.0%}; target >= 80%)")
            print(
                f"  read  {read:7.1f} MB/s   boto3 download_file {down:7.1f} MB/s   ({read / down:.0%}; target >= 80%)"
            )
        compare_toil96(opts.toil_jobs, env, script, log_path, opts.port)
    finally:
        moto.terminate()
        moto.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    main()
