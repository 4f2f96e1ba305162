"""Workflows on an ``aws:`` job store, against real S3 stand-ins over HTTP on 127.0.0.1: moto_server and s3rver.

The code path is production's; only the endpoint differs (TOIL_S3_HOST/PORT/USE_SSL). Python, CWL and WDL
workflows run with their whole state in one bucket; the ``toil`` utility reads it; a leader killed at random
moments resumes with --restart and no recorded job runs again; a second leader is refused; bad locators and
credentials are one line.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.conftest import run_script
from tests.integration.test_crash_restart import (
    EXPECTED,
    SCRIPT,
    check_no_rerun_after_record,
    side_counts,
)
from tests.objectstores import aws_locator, s3_env
from toil.runtime.jobstores import open_job_store

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS = Path(__file__).parent / "cwl_docs"
WDL = Path(__file__).parent / "wdl"
N = 12


def bucket_keys(env: dict[str, str], locator: str) -> list[str] | None:
    """The keys in a job store's bucket, or None if there is no bucket."""
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{env['TOIL_S3_PORT']}",
        region_name="us-west-2",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    bucket = locator.rsplit(":", 1)[1] + "--toil"
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]
    except s3.exceptions.NoSuchBucket:
        return None


def in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This test process reads the store too (as the toil utility would)."""
    for name, value in s3_env("moto").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "observer"))


def args(locator: str, *more: str) -> list[str]:
    return [locator, "--n", str(N), "--logLevel", "WARNING", "--maxCores", "2", *more]


def toil_cmd(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toil.cli.toil_main", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


# The same workflow on two independent S3 implementations, so that no emulator's quirks are baked in.
@pytest.mark.parametrize("server", ["moto", "s3rver"])
def test_a_python_workflow_keeps_its_whole_state_in_one_bucket(tmp_path, server):
    env = {**s3_env(server), "SIDE_FILE": str(tmp_path / "side"), "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator()
    p = run_script(SCRIPT, *args(locator, "--clean", "never", "--stats"), env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"RESULT {EXPECTED}" in p.stdout
    keys = bucket_keys(env, locator)
    assert keys is not None and "toil.json" in keys
    assert any(k.startswith("journal/") for k in keys) and any(k.startswith("returns/") for k in keys)
    assert any(k.startswith("files/") for k in keys)  # the global file the writer made
    status = toil_cmd("status", locator, "--printStatus", env=env)
    assert status.returncode == 0 and "COMPLETED" in status.stdout, status.stderr
    stats = toil_cmd("stats", locator, "--raw", env=env)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["jobs"]["total_number"] >= N + 10
    clean = toil_cmd("clean", locator, env=env)
    assert clean.returncode == 0, clean.stderr
    assert bucket_keys(env, locator) is None  # the bucket is gone with its objects


def test_clean_on_success_removes_the_bucket(tmp_path):
    env = {**s3_env("moto"), "SIDE_FILE": str(tmp_path / "side"), "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator()
    p = run_script(SCRIPT, *args(locator), env=env)
    assert p.returncode == 0 and f"RESULT {EXPECTED}" in p.stdout, p.stderr[-3000:]
    assert bucket_keys(env, locator) is None


def test_random_leader_kills_then_restart(tmp_path, monkeypatch):
    """kill -9 the leader at seeded random moments, over and over; --restart finishes, nothing recorded reruns."""
    rng = random.Random(20261206)
    in_process(monkeypatch, tmp_path)
    side = tmp_path / "side"
    env = {**os.environ, **s3_env("moto"), "SIDE_FILE": str(side), "JOB_DELAY": "0.15", "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator()
    before, restart, kills = [], [], 0
    for _attempt in range(30):
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args(locator, "--clean", "never"), *restart],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = proc.communicate(timeout=rng.uniform(0.5, 2.5))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            kills += 1
            store = open_job_store(locator)
            if store.exists() and any(store.journal().load()):
                _, records = store.journal().load()
                before.append(({r["id"] for r in records if r.get("t") == "ran"}, side_counts(side)))
                restart = ["--restart"]
            else:
                restart = []
            continue
        assert proc.returncode == 0, err[-3000:]
        assert f"RESULT {EXPECTED}" in out
        break
    else:
        pytest.fail("the workflow never finished")
    assert kills >= 2
    check_no_rerun_after_record(Path(), side, before)


def test_a_second_leader_is_refused_and_the_first_finishes(tmp_path, monkeypatch):
    side = tmp_path / "side"
    in_process(monkeypatch, tmp_path)
    env = {**os.environ, **s3_env("moto"), "SIDE_FILE": str(side), "JOB_DELAY": "0.5", "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator()
    first = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args(locator, "--clean", "never")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while not open_job_store(locator).leader_info() and time.time() < deadline:
            time.sleep(0.1)
        second = run_script(SCRIPT, *args(locator, "--restart"), env=env)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another leader" in lines[0] and str(first.pid) in lines[0], second.stderr
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0 and f"RESULT {EXPECTED}" in out, err[-2000:]
    finally:
        first.kill()
        first.communicate()


def test_toil_kill_stops_the_leader_and_restart_finishes(tmp_path):
    side = tmp_path / "side"
    env = {**s3_env("moto"), "SIDE_FILE": str(side), "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator()
    leader = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args(locator, "--clean", "never")],
        env={**os.environ, **env, "JOB_DELAY": "30"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while side_counts(side).total() < 1 and time.time() < deadline:
        time.sleep(0.1)
    killed = toil_cmd("kill", locator, env=env)
    assert killed.returncode == 0, killed.stderr
    _, err = leader.communicate(timeout=60)
    assert leader.returncode == 130, err[-2000:]
    done = run_script(SCRIPT, *args(locator, "--restart"), env=env)
    assert done.returncode == 0 and f"RESULT {EXPECTED}" in done.stdout, done.stderr[-2000:]


def test_a_cwl_workflow_on_an_aws_store(tmp_path):
    env = {**os.environ, **s3_env("moto"), "TOIL_WORKDIR": str(tmp_path)}
    out = tmp_path / "out"
    p = subprocess.run(
        [str(BIN / "toil-cwl-runner"), "--no-container", "--quiet", "--jobStore", aws_locator(), "--outdir", str(out)]
        + [str(DOCS / "two_steps.cwl"), "--msg", "hello"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout)
    assert Path(result["report"]["path"]).read_text() == "hello\nindex\none\ntwo\n"
    assert (out / "tree" / "sub" / "two.txt").read_text() == "two\n"


def test_a_wdl_workflow_on_an_aws_store(tmp_path):
    env = {**os.environ, **s3_env("moto"), "TOIL_WORKDIR": str(tmp_path)}
    p = subprocess.run(
        [str(BIN / "toil-wdl-runner"), "--container", "none", "--jobStore", aws_locator(), str(WDL / "constructs.wdl")]
        + [str(WDL / "constructs.json"), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout)["constructs.doubled"] == {"a": 2, "b": 4}


def test_s3_urls_import_and_export(tmp_path):
    """Toil.import_file and export_file with s3:// URLs, from and to another bucket of the same service."""
    env = s3_env("moto")
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:5000",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"urls-{os.getpid()}-{int(time.time())}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=bucket, Key="in/data.txt", Body=b"from s3\n")
    script = tmp_path / "urls.py"
    script.write_text(
        "import sys\n"
        "from toil.common import Toil\nfrom toil.job import Job\n"
        "def size(job, fid):\n"
        "    with job.fileStore.readGlobalFileStream(fid) as f:\n"
        "        return len(f.read())\n"
        "opts = Job.Runner.getDefaultArgumentParser().parse_args(sys.argv[1:2])\n"
        "with Toil(opts) as t:\n"
        "    fid = t.import_file(sys.argv[2])\n"
        "    print('SIZE', t.start(Job.wrapJobFn(size, fid)))\n"
        "    t.export_file(fid, sys.argv[3])\n"
        "    try:\n"
        "        t.import_file(sys.argv[2] + '.missing')\n"
        "    except Exception as e:\n"
        "        print('MISSING', e)\n"
    )
    src, dst = f"s3://{bucket}/in/data.txt", f"s3://{bucket}/out/copy.txt"
    p = run_script(script, aws_locator(), src, dst, env={**env, "TOIL_WORKDIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr[-3000:]
    assert "SIZE 8" in p.stdout
    assert f"MISSING cannot import {src}.missing: no such file" in p.stdout or "no such object" in p.stdout
    assert s3.get_object(Bucket=bucket, Key="out/copy.txt")["Body"].read() == b"from s3\n"


@pytest.mark.parametrize(
    "locator, env_change, expected",
    [
        ("aws:us-west-2:Bad_Name", {}, "invalid name 'Bad_Name'"),
        ("aws:mars-north-1:fine-name", {}, "unknown AWS region 'mars-north-1'"),
        ("aws:us-west-2:ab", {}, "must be 3 to 56 characters"),
        (None, {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "no AWS credentials found"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(tmp_path, locator, env_change, expected):
    env = {**os.environ, **s3_env("moto"), "SIDE_FILE": str(tmp_path / "side"), "TOIL_WORKDIR": str(tmp_path)}
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    for name, value in env_change.items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    locator = locator or aws_locator()
    p = subprocess.run(
        [sys.executable, str(SCRIPT), *args(locator)], capture_output=True, text=True, env=env, timeout=60
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1 and expected in lines[0], p.stderr[-2000:]
    assert not (tmp_path / "side").exists()


@pytest.fixture
def moto_with_auth(tmp_path):
    """A moto_server of this test's own that checks credentials (its first 2 calls make a user who may do nothing)."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    s3_env("moto")  # the virtualenv has moto_server
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        iam = boto3.client(
            "iam",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        yield port, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.kill()
        server.wait()


def test_access_denied_is_one_line_and_creates_nothing(tmp_path, moto_with_auth):
    port, key, secret = moto_with_auth
    env = {**os.environ, **s3_env("moto"), "TOIL_S3_PORT": str(port), "AWS_ACCESS_KEY_ID": key}
    env.update(AWS_SECRET_ACCESS_KEY=secret, SIDE_FILE=str(tmp_path / "side"), TOIL_WORKDIR=str(tmp_path))
    locator = aws_locator("denied")
    p = subprocess.run(
        [sys.executable, str(SCRIPT), *args(locator)], capture_output=True, text=True, env=env, timeout=60
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, p.stderr[-2000:]
    assert lines[0].endswith(
        f"access denied to s3://{locator.rsplit(':', 1)[1]}--toil (403): the credentials in use may "
        "not read or write it"
    ), lines[0]
    assert not (tmp_path / "side").exists()


def test_a_store_of_another_kind_of_workflow_is_refused_in_one_line(tmp_path):
    env = {**os.environ, **s3_env("moto"), "SIDE_FILE": str(tmp_path / "side"), "TOIL_WORKDIR": str(tmp_path)}
    locator = aws_locator("kind")
    assert run_script(SCRIPT, *args(locator, "--clean", "never"), env=env).returncode == 0
    p = subprocess.run(
        [str(BIN / "toil-wdl-runner"), "--jobStore", locator, "--restart", str(WDL / "constructs.wdl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1 and "holds no document workflow" in lines[0], p.stderr[-2000:]
    assert toil_cmd("clean", locator, env=env).returncode == 0


def test_cwl_and_wdl_inputs_by_s3_url_and_cwl_outputs_to_dest_bucket(tmp_path):
    env = {**os.environ, **s3_env("moto"), "TOIL_WORKDIR": str(tmp_path)}
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:5000",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"io-{os.getpid()}-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=bucket, Key="in/hello.txt", Body=b"hello from s3\n")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"f": {"class": "File", "location": f"s3://{bucket}/in/hello.txt"}}))
    cwl = subprocess.run(
        [str(BIN / "toil-cwl-runner"), "--quiet", "--no-container", "--jobStore", aws_locator("io")]
        + ["--outdir", str(tmp_path / "out"), "--destBucket", f"s3://{bucket}/results"]
        + [str(DOCS / "upper.cwl"), str(job)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert cwl.returncode == 0, cwl.stderr[-3000:]
    assert json.loads(cwl.stdout)["up"]["location"] == f"s3://{bucket}/results/upper.txt"
    assert s3.get_object(Bucket=bucket, Key="results/upper.txt")["Body"].read() == b"HELLO FROM S3\n"
    wdl = tmp_path / "count.wdl"
    wdl.write_text(
        "version 1.0\nworkflow count {\n  input { File f }\n  call wc { input: f = f }\n  output { Int n = wc.n }\n}\n"
        "task wc {\n  input { File f }\n  command <<< wc -c < ~{f} >>>\n  output { Int n = read_int(stdout()) }\n}\n"
    )
    for url, expected in ((f"s3://{bucket}/in/hello.txt", 0), (f"s3://{bucket}/in/missing.txt", 1)):
        p = subprocess.run(
            [str(BIN / "toil-wdl-runner"), "--container", "none", "--jobStore", aws_locator("wdlio"), str(wdl)]
            + ["-i", json.dumps({"count.f": url}), "-o", str(tmp_path / "wdlout")],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=180,
        )
        assert p.returncode == expected, p.stderr[-3000:]
        if expected == 0:
            assert json.loads(p.stdout)["count.n"] == len("hello from s3\n")
        else:
            assert p.stderr.strip().splitlines()[-1].endswith(f"cannot read {url}: no such object")
