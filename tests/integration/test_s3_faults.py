"""Faults between the project and S3: a proxy that answers 503 SlowDown and 500, drops connections before
and after the server acted, and delays requests. Workflows on an aws: store complete through it with the
same result, and the retries are logged; with every request failing, the run stops in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.faultproxy import FaultProxy
from tests.integration.test_crash_restart import EXPECTED, SCRIPT
from tests.objectstores import SERVERS, aws_locator, s3_env

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy():
    s3_env("moto")  # the server behind the proxy
    p = FaultProxy(SERVERS["moto"][0], seed=7, slowdown=0.04, error=0.03, drop_before=0.02, drop_after=0.03, delay=0.05)
    yield p.start()
    p.stop()


def env_through(proxy: FaultProxy, tmp_path: Path) -> dict[str, str]:
    return {
        **s3_env("moto"),
        "TOIL_S3_PORT": str(proxy.port),
        "SIDE_FILE": str(tmp_path / "side"),
        "TOIL_WORKDIR": str(tmp_path),
        "TOIL_JOBSTORE_RETRY_SECONDS": "0.02",
    }


def test_a_workflow_completes_through_throttling_errors_and_dropped_connections(tmp_path, proxy):
    locator = aws_locator("faults")
    p = run_script(SCRIPT, locator, "--n", "12", "--logLevel", "WARNING", env=env_through(proxy, tmp_path), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"RESULT {EXPECTED}" in p.stdout
    for fault in ("slowdown", "error", "drop_before", "drop_after", "delay"):
        assert proxy.counts[fault] > 0, f"no {fault} was injected: {dict(proxy.counts)}"
    assert "retrying" in p.stderr and "job store call(s) retried after transient errors" in p.stderr


def test_a_service_that_never_answers_stops_the_run_in_one_line(tmp_path):
    s3_env("moto")
    dead = FaultProxy(SERVERS["moto"][0], seed=1, slowdown=1.0).start()
    try:
        env = {**env_through(dead, tmp_path), "TOIL_JOBSTORE_RETRIES": "3"}
        p = run_script(SCRIPT, aws_locator("dead"), "--n", "2", env=env, timeout=120)
    finally:
        dead.stop()
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert all("retrying" in line for line in lines[:-1]), lines  # each retry logged, then one line
    assert "the storage service kept failing" in lines[-1] and "503" in lines[-1], lines
    assert not os.path.exists(tmp_path / "side")
