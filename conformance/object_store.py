"""`--store aws` for the conformance drivers: point the runners at an aws: job store on moto_server."""

from __future__ import annotations

import os
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def use_aws_store() -> None:
    """Start moto_server if none answers, and point this process and the runners it starts at it."""
    sys.path.insert(0, REPO)
    from tests.objectstores import s3_env

    os.environ.update(s3_env("moto"))


def aws_locator(kind: str) -> str:
    return f"aws:us-west-2:{kind}-{uuid.uuid4().hex[:24]}"
