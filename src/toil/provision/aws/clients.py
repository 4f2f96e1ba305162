"""boto3 clients for one region, with bounded retries and a count of the API calls made."""

from __future__ import annotations

import collections
import functools
import time
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions

from toil.provision.spec import ProvisionError

# standard mode retries throttling and 5xx answers with backoff; the count bounds each call
_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=10, read_timeout=60)


class AwsClients:
    """One session's ec2, iam, s3, autoscaling and sts clients (endpoints from the usual AWS settings)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.session = boto3.session.Session(region_name=region)
        self.calls: collections.Counter[str] = collections.Counter()
        self.session.events.register("before-call", self._count)

    # each client is made when first used: making one reads its service's model (tenths of a second)
    @functools.cached_property
    def ec2(self) -> Any:
        """The EC2 client."""
        return self.session.client("ec2", config=_CONFIG)

    @functools.cached_property
    def iam(self) -> Any:
        """The IAM client."""
        return self.session.client("iam", config=_CONFIG)

    @functools.cached_property
    def s3(self) -> Any:
        """The S3 client."""
        return self.session.client("s3", config=_CONFIG)

    @functools.cached_property
    def autoscaling(self) -> Any:
        """The auto scaling client."""
        return self.session.client("autoscaling", config=_CONFIG)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def describe(error: BaseException) -> str:
    """One line for an AWS (or connection) error."""
    if isinstance(error, botocore.exceptions.ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip().rstrip(":")
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
    return " ".join(str(error).split()) or type(error).__name__


class WaitTimeout(ProvisionError):
    """A wait ran out of its time limit."""


def wait_until(what: str, check: Callable[[], bool], timeout: float, first_delay: float = 0.2) -> None:
    """Poll ``check`` until it is true, backing off to 5 s between polls; ProvisionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = first_delay
    while not check():
        if time.monotonic() + delay > deadline:
            raise WaitTimeout(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def retry_on(codes: set[str], what: str, call: Callable[[], Any], timeout: float, mentioning: str = "") -> Any:
    """``call()``, again while it fails with one of ``codes`` (AWS's eventual consistency), up to ``timeout``.

    With ``mentioning``, only errors whose message contains it (case-insensitive) are retried.
    """
    result: list[Any] = []

    def attempt() -> bool:
        try:
            result.append(call())
            return True
        except botocore.exceptions.ClientError as e:
            if error_code(e) in codes and mentioning.lower() in describe(e).lower():
                return False
            raise

    wait_until(what, attempt, timeout, first_delay=1.0)
    return result[0]
