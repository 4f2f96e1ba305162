"""The object-store services tests run against, started on 127.0.0.1 by infra/s3-up.sh when none answers.

``s3_env(kind)`` gives the environment that points the ``aws:`` job store (and boto3) at moto_server or
s3rver; ``aws_locator()`` a fresh ``aws:`` locator. If a server cannot start, the test skips with the
reason; under CI (``CI`` set) that is a failure instead, because CI must run these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = {
    # kind: (port, access key, secret key, readiness URL)
    "moto": (5000, "testing", "testing", "http://127.0.0.1:5000/moto-api/"),
    "s3rver": (4569, "S3RVER", "S3RVER", "http://127.0.0.1:4569/"),
}


def answers(url: str) -> bool:
    """Whether an HTTP server answers at url (any status)."""
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer, even an error, means the server is up
    except OSError:
        return False


def ensure_s3(kind: str = "moto") -> None:
    url = SERVERS[kind][3]
    if answers(url):
        return
    venv = os.path.dirname(os.path.dirname(sys.executable))
    done = subprocess.run(
        ["bash", os.path.join(ROOT, "infra", "s3-up.sh"), venv], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0 or not answers(url):
        message = f"{kind} cannot start: {(done.stderr or done.stdout).strip()[-300:]}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run these tests)")
        pytest.skip(message)


def s3_env(kind: str = "moto") -> dict[str, str]:
    """Environment variables that point the aws: job store at a local S3 stand-in (started if needed)."""
    ensure_s3(kind)
    port, key, secret, _ = SERVERS[kind]
    return {
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-west-2",
        "TOIL_S3_HOST": "127.0.0.1",
        "TOIL_S3_PORT": str(port),
        "TOIL_S3_USE_SSL": "false",
    }


def aws_locator(prefix: str = "t") -> str:
    """A job store locator no other test uses."""
    return f"aws:us-west-2:{prefix}-{uuid.uuid4().hex[:20]}"
