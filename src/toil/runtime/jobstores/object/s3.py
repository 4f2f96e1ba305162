"""Amazon S3 and S3-compatible services: the ``aws:REGION:NAME`` job store's driver, and ``s3://`` URLs.

The bucket is ``NAME--toil`` in REGION, as Toil names it. The endpoint is
AWS's unless ``TOIL_S3_HOST`` (with ``TOIL_S3_PORT``, ``TOIL_S3_USE_SSL``)
or boto3's own ``AWS_ENDPOINT_URL`` names another; credentials come from
boto3's usual chain. Retries are the store's (retry.py), so botocore makes
one attempt per call. Conditional writes use ``If-None-Match: *``; a service
that ignores the header (found once per process by a probe) gets a HEAD
before the write instead, which is safe with one leader at a time.
"""

from __future__ import annotations

import builtins
import io
import logging
import os
import re
import threading
from contextlib import contextmanager
from typing import IO, Any, Iterator

import boto3
import botocore.config
import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver, ObjectInfo, PerProcess
from toil.runtime.jobstores.object.parts import PartWriter, streamed
from toil.runtime.jobstores.object.retry import call_retrying

log = logging.getLogger(__name__)

PART_SIZE = 16 << 20
# Never encrypted with --sseKey: the metadata that says encryption is on, and what `toil status` and a leader
# taking over read before they know the key.
PLAIN_KEYS = ("toil.json", "lease/", "journal/", "status.json", ".toil-probe/")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]+[a-z0-9]$")
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "ConditionalRequestConflict",
        "OperationAborted",
        "500",
        "502",
        "503",
        "504",
    }
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})
_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"})
_BAD_CREDENTIALS = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"})


def endpoint_url() -> str | None:
    """The S3 endpoint from Toil's TOIL_S3_HOST/PORT/USE_SSL (None: boto3's own, incl. AWS_ENDPOINT_URL)."""
    host = os.environ.get("TOIL_S3_HOST")
    if not host:
        return None
    ssl = os.environ.get("TOIL_S3_USE_SSL", "true").strip().lower() not in ("0", "false", "no", "n", "f", "off")
    port = os.environ.get("TOIL_S3_PORT")
    return f"{'https' if ssl else 'http'}://{host}" + (f":{port}" if port else "")


def regions() -> list[str]:
    """AWS regions botocore knows (read from its bundled endpoint data: no request)."""
    session = boto3.session.Session()
    return sorted(set(session.get_available_regions("s3")) | set(session.get_available_regions("ec2")))


def parse_aws_locator(rest: str) -> tuple[str, str]:
    """REGION:NAME as Toil checks it -> (region, bucket name ``NAME--toil``); ToilUserError in one line."""
    region, sep, name = rest.partition(":")
    if not sep or not region or not name:
        raise ToilUserError(f"job store locator 'aws:{rest}': use aws:REGION:NAME (e.g. aws:us-west-2:my-jobstore)")
    if region not in regions():
        raise ToilUserError(f"job store locator 'aws:{rest}': unknown AWS region {region!r}")
    if not 3 <= len(name) <= 56:
        raise ToilUserError(f"job store locator 'aws:{rest}': the name must be 3 to 56 characters long")
    if not _NAME.match(name) or "--" in name:
        raise ToilUserError(
            f"job store locator 'aws:{rest}': invalid name {name!r}: use lower-case letters, digits and single "
            f"hyphens, neither first nor last"
        )
    return region, f"{name}--toil"


def _client(region: str) -> Any:
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=32,
        connect_timeout=10,
        read_timeout=60,
        s3={"addressing_style": "path"} if (endpoint_url() or os.environ.get("AWS_ENDPOINT_URL")) else {},
    )
    return _session(region).client("s3", endpoint_url=endpoint_url(), config=config)


_SESSIONS: dict[str, Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(region: str) -> Any:
    """One boto3 session per region for the process and the workers forked from it.

    A session holds no connections, only the parsed service models and the credential chain: a child makes its
    client from the parent's session in milliseconds, where a fresh session parses the models again (about
    70 ms, which a pack of tiny jobs would pay for each job).
    """
    # Credentials named in the environment are part of the key: a session keeps the ones it first found.
    key = "\0".join([region, *(os.environ.get(v, "") for v in _CREDENTIAL_VARIABLES)])
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session(region_name=region)
        return session


_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def _code(error: BaseException) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def _status(error: BaseException) -> int:
    if isinstance(error, botocore.exceptions.ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_missing(error: BaseException) -> bool:
    return _code(error) in _MISSING_CODES or _status(error) == 404


class S3Driver(ObjectDriver):
    """One S3 bucket."""

    scheme = "s3"

    def __init__(self, region: str, bucket: str, sse_key: bytes | None = None) -> None:
        self.region = region
        self.bucket = bucket
        self.sse_key = sse_key
        self._client = PerProcess(lambda: _client(region))
        self._conditional: bool | None = None  # whether the service honours If-None-Match (probed once)
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        return self._client.get()

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}"

    def set_encryption_key(self, key: bytes | None) -> None:
        self.sse_key = key

    def _sse(self, key: str) -> dict[str, Any]:
        """Customer-key encryption for the workflow's data; what a reader without the key needs stays plain."""
        if self.sse_key is None or key.startswith(PLAIN_KEYS):
            return {}
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": self.sse_key}

    # -- the bucket
    def container_exists(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return True
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                return False
            raise

    def create_container(self) -> None:
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**args)
        except botocore.exceptions.ClientError as e:
            if _code(e) in ("BucketAlreadyOwnedByYou",):
                return
            if _code(e) in ("BucketAlreadyExists", "InvalidBucketName", "InvalidLocationConstraint"):
                raise ToilUserError(f"cannot create the bucket {self.where} in {self.region}: {e}") from None
            raise
        self._best_effort(
            "block public access",
            lambda: self.client.put_public_access_block(
                Bucket=self.bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            ),
        )
        tags = _tags_from_env()
        if tags:
            self._best_effort(
                "tag",
                lambda: self.client.put_bucket_tagging(
                    Bucket=self.bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
                ),
            )

    def _best_effort(self, what: str, call: Any) -> None:
        """A setting some S3-compatible services lack: the bucket is private by default either way."""
        try:
            call()
        except botocore.exceptions.ClientError as e:
            log.debug("%s: could not %s the bucket (%s); its objects stay private", self.where, what, e)

    def delete_container(self) -> None:
        try:
            self.client.delete_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as e:
            if not is_missing(e):
                raise

    # -- objects
    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": data, **self._sse(key)}
        if metadata:
            args["Metadata"] = dict(metadata)
        if create_only:
            if not self._honours_conditions():
                if self.head(key) is not None:
                    return False
            else:
                args["IfNoneMatch"] = "*"
        try:
            self.client.put_object(**args)
            return True
        except botocore.exceptions.ClientError as e:
            if create_only and (_code(e) == "PreconditionFailed" or _status(e) == 412):
                return False
            raise

    def _honours_conditions(self) -> bool:
        with self._lock:
            if self._conditional is None:
                self._conditional = self._probe_conditions()
            return self._conditional

    def _probe_conditions(self) -> bool:
        key = f".toil-probe/{os.getpid()}-{threading.get_ident()}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=b"1")
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"2", IfNoneMatch="*")
            honoured = False
        except botocore.exceptions.ClientError as e:
            honoured = _code(e) == "PreconditionFailed" or _status(e) == 412
            if not honoured:
                raise
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        if not honoured:
            log.warning("%s ignores If-None-Match: create-only writes check with a HEAD first", self.where)
        return honoured

    def get(self, key: str) -> bytes:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key, **self._sse(key))["Body"].read()
            return body
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                raise KeyError(key) from None
            raise

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}", **self._sse(key)
            )
            body: bytes = response["Body"].read()
            return body
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                raise KeyError(key) from None
            if _code(e) == "InvalidRange":
                return b""
            raise

    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key, **self._sse(key))
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                return None
            raise
        return ObjectInfo(key, int(r.get("ContentLength", 0)), dict(r.get("Metadata") or {}))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"], int(item.get("Size", 0)))
        except botocore.exceptions.ClientError as e:
            if _code(e) != "NoSuchBucket":
                raise

    def delete(self, keys: "builtins.list[str]") -> None:
        for i in range(0, len(keys), 1000):
            batch = keys[i : i + 1000]
            if len(batch) == 1:
                self.client.delete_object(Bucket=self.bucket, Key=batch[0])
                continue
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = [e for e in response.get("Errors", []) if e.get("Code") not in _MISSING_CODES]
            if errors:
                raise OSError(f"{self.where}: could not delete {errors[0].get('Key')}: {errors[0].get('Message')}")

    # -- transfers
    def _transfer_config(self) -> TransferConfig:
        """boto3's own transfer settings (8 MiB parts, 10 at a time): measured as fast as they get here."""
        return TransferConfig()

    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        extra: dict[str, Any] = {**self._sse(key)}
        if metadata:
            extra["Metadata"] = dict(metadata)
        self.client.upload_file(local_path, self.bucket, key, ExtraArgs=extra, Config=self._transfer_config())

    def download_file(self, key: str, local_path: str) -> None:
        try:
            self.client.download_file(
                self.bucket, key, local_path, ExtraArgs=self._sse(key) or None, Config=self._transfer_config()
            )
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                raise KeyError(key) from None
            raise

    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        with streamed(_MultipartWriter(self, key, metadata)) as stream:
            yield stream

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, **self._sse(key))["Body"]
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                raise KeyError(key) from None
            raise
        try:
            yield _BodyReader(body)  # type: ignore[misc]
        finally:
            body.close()

    # -- errors
    def is_transient(self, error: BaseException) -> bool:
        if isinstance(error, botocore.exceptions.ClientError):
            return _code(error) in _TRANSIENT_CODES or _status(error) >= 500
        return isinstance(
            error,
            (
                botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.ConnectTimeoutError,
                botocore.exceptions.IncompleteReadError,
                botocore.exceptions.ResponseStreamingError,
                botocore.exceptions.HTTPClientError,
                botocore.exceptions.FlexibleChecksumError,  # a body damaged on the way: fetch it again
                ConnectionError,
            ),
        )

    def user_error(self, error: BaseException) -> str | None:
        if isinstance(error, botocore.exceptions.NoCredentialsError):
            return (
                f"no AWS credentials found for {self.where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                f"AWS_PROFILE, ~/.aws/credentials, or run on a machine with an instance profile"
            )
        code = _code(error)
        if code in _BAD_CREDENTIALS:
            return f"the AWS credentials were refused for {self.where} ({code})"
        if code in _DENIED_CODES:
            return f"access denied to {self.where} ({code}): the credentials in use may not read or write it"
        if isinstance(error, botocore.exceptions.EndpointConnectionError):
            return f"cannot reach the S3 service for {self.where}: {error}"
        return None


def _tags_from_env() -> dict[str, str]:
    """TOIL_AWS_TAGS (a JSON object), as Toil tags what it creates."""
    import json

    raw = os.environ.get("TOIL_AWS_TAGS")
    if not raw:
        return {}
    try:
        tags = json.loads(raw)
    except ValueError:
        raise ToilUserError(f"TOIL_AWS_TAGS is not a JSON object: {raw[:80]}") from None
    if not isinstance(tags, dict):
        raise ToilUserError(f"TOIL_AWS_TAGS is not a JSON object: {raw[:80]}")
    return {str(k): str(v) for k, v in tags.items()}


class _BodyReader(io.RawIOBase):
    """A botocore streaming body as a readable binary stream."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self.body.read() if size is None or size < 0 else self.body.read(size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _MultipartWriter(PartWriter):
    """A multipart upload, begun when the first part is full."""

    def __init__(self, driver: S3Driver, key: str, metadata: Metadata | None) -> None:
        super().__init__(driver, key, metadata, PART_SIZE)
        self.s3 = driver
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def send_part(self, chunk: bytes, number: int) -> None:
        d = self.s3
        if self.upload_id is None:
            self.upload_id = call_retrying(
                d,
                "create_multipart_upload",
                lambda: d.client.create_multipart_upload(
                    Bucket=d.bucket, Key=self.key, Metadata=self.metadata, **d._sse(self.key)
                )["UploadId"],
            )
        response = call_retrying(
            d,
            "upload_part",
            lambda: d.client.upload_part(
                Bucket=d.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=chunk,
                **d._sse(self.key),
            ),
        )
        self.parts.append({"ETag": response["ETag"], "PartNumber": number})

    def complete(self) -> None:
        d = self.s3
        call_retrying(
            d,
            "complete_multipart_upload",
            lambda: d.client.complete_multipart_upload(
                Bucket=d.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
            ),
        )

    def cancel(self) -> None:
        try:
            self.s3.client.abort_multipart_upload(Bucket=self.s3.bucket, Key=self.key, UploadId=self.upload_id)
        except botocore.exceptions.ClientError as e:  # the bucket's lifecycle rules clean up what is left
            log.warning("%s: could not abort the upload of %s: %s", self.s3.where, self.key, e)


_REGIONS: dict[str, str] = {}


def bucket_region(bucket: str) -> str:
    """The region of a bucket named in an s3:// URL (asked once per process; AWS_DEFAULT_REGION if it cannot be)."""
    if bucket not in _REGIONS:
        default = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        try:
            found = _client(default).get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except botocore.exceptions.ClientError as e:
            if is_missing(e):
                raise ToilUserError(f"cannot use s3://{bucket}: no such bucket") from None
            found = None  # not allowed to ask: try the default region
        except botocore.exceptions.NoCredentialsError:
            raise ToilUserError(f"no AWS credentials found to read s3://{bucket}") from None
        _REGIONS[bucket] = found or default if found != "EU" else "eu-west-1"
    return _REGIONS[bucket]


def driver_for_locator(rest: str) -> S3Driver:
    """The driver a locator's rest (after the scheme) names; ToilUserError in one line if it is malformed."""
    return S3Driver(*parse_aws_locator(rest))
