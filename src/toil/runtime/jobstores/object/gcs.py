"""Google Cloud Storage: the ``google:PROJECT:NAME`` job store's driver, and ``gs://`` URLs.

The bucket is ``NAME--toil``, created in PROJECT, as Toil names it (toil/jobStores/googleJobStore.py,
which also takes ``google:NAME`` and then uses the credentials' project). The endpoint is Google's unless
``STORAGE_EMULATOR_HOST`` (google-cloud-storage's own variable) names an emulator, which is then reached
with anonymous credentials. Otherwise credentials come from the library's usual chain
(GOOGLE_APPLICATION_CREDENTIALS, ``gcloud auth application-default login``, the metadata server) or, as
in Toil, from /root/service_account.json on a node Toil's provisioner made. The library makes one attempt
per call: the store's retries (retry.py) are the ones that wait and log, and the parts of a stream are
retried the same way one at a time. Create-only writes use ``ifGenerationMatch=0``; --sseKey is a
customer-supplied encryption key.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator, Sequence

import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption, InvalidResponse

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver, ObjectInfo, PerProcess, delete_each
from toil.runtime.jobstores.object.parts import StreamWriter, streamed
from toil.runtime.jobstores.object.retry import call_retrying

log = logging.getLogger(__name__)

#: bytes per part of a streamed upload or read (resumable uploads need a multiple of 256 KiB)
PART_SIZE = 16 << 20
#: where Toil's provisioner puts a node's service account key (as googleJobStore.py reads it)
NODE_SERVICE_ACCOUNT = "/root/service_account.json"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
_MAX_NAME = 63 - len("--toil")
_TRANSIENT_STATUS = frozenset({408, 429})
_OCTETS = "application/octet-stream"


def parse_google_locator(rest: str) -> tuple[str | None, str]:
    """PROJECT:NAME -> (project, bucket name ``NAME--toil``).

    Toil also takes a bare NAME (the project then comes from the credentials); here the project is required, so
    that a typo never sends a client looking for credentials on a metadata server.
    """
    project, sep, name = rest.rpartition(":")
    if not sep or not project:
        raise ToilUserError(f"job store locator 'google:{rest}': use google:PROJECT:NAME (e.g. google:my-project:run1)")
    if not 1 <= len(name) <= _MAX_NAME:
        raise ToilUserError(f"job store locator 'google:{rest}': the name must be 1 to {_MAX_NAME} characters long")
    if not _NAME.match(name):
        raise ToilUserError(
            f"job store locator 'google:{rest}': invalid name {name!r}: use lower-case letters, digits, '-' and "
            f"'_', beginning and ending with a letter or digit"
        )
    if name.startswith("goog") or "google" in name:  # Cloud Storage refuses such bucket names
        raise ToilUserError(
            f"job store locator 'google:{rest}': a bucket name may not begin with 'goog' nor hold 'google'"
        )
    return project or None, f"{name}--toil"


def make_client(project: str | None, anonymous_fallback: bool = False) -> Any:
    """A storage client for the emulator, the node's service account or the usual credentials chain.

    With ``anonymous_fallback`` (gs:// URLs), no credentials at all still reads public objects, as in Toil.
    """
    args: dict[str, Any] = {"project": project} if project else {}
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return storage.Client(project=project or "toil", credentials=anonymous)
    path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path is not None and not os.path.exists(path):
        raise ToilUserError(f"GOOGLE_APPLICATION_CREDENTIALS names {path}, which does not exist")
    if path is None and os.path.exists(NODE_SERVICE_ACCOUNT):
        return storage.Client.from_service_account_json(NODE_SERVICE_ACCOUNT, **args)
    try:
        return storage.Client(**args)
    except auth_exc.DefaultCredentialsError:
        if not anonymous_fallback:
            raise
        return storage.Client.create_anonymous_client()


def _status(error: BaseException) -> int:
    if isinstance(error, gexc.GoogleAPICallError):
        return int(error.code or 0)
    if isinstance(error, InvalidResponse):
        return int(getattr(error.response, "status_code", 0) or 0)
    return 0


def store_retry(driver: ObjectDriver, op: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """A retry policy for the library's media requests (a stream's parts) that is the store's: waits, logs, counts."""

    def wrap(request: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: call_retrying(driver, op, request)

    return wrap


class GCSDriver(ObjectDriver):
    """One Cloud Storage bucket."""

    scheme = "gs"

    def __init__(self, project: str | None, bucket: str, anonymous_fallback: bool = False) -> None:
        self.project = project
        self.bucket = bucket
        self.sse_key: bytes | None = None
        self._anonymous_fallback = anonymous_fallback
        self._client: PerProcess[Any] = PerProcess(lambda: make_client(self.project, self._anonymous_fallback))

    @property
    def where(self) -> str:
        return f"gs://{self.bucket}"

    @property
    def client(self) -> Any:
        """The storage client, made on first use (so that opening a store needs no credentials yet)."""
        return self._client.get()

    def _bucket(self) -> Any:
        return self.client.bucket(self.bucket)

    def _blob(self, key: str) -> Any:
        return self._bucket().blob(key, encryption_key=self.sse_key)

    def set_encryption_key(self, key: bytes | None) -> None:
        self.sse_key = key

    # -- the bucket
    def container_exists(self) -> bool:
        return bool(self._bucket().exists(retry=None))

    def create_container(self) -> None:
        bucket = self._bucket()
        bucket.iam_configuration.uniform_bucket_level_access_enabled = True
        bucket.iam_configuration.public_access_prevention = "enforced"
        try:
            self.client.create_bucket(bucket, project=self.project, retry=None)
        except gexc.Conflict:
            if self._owned():  # ours already (an earlier attempt whose answer was lost)
                return
            raise ToilUserError(
                f"cannot create the bucket {self.where}: the name is taken by another project; choose another name"
            ) from None
        except gexc.BadRequest as e:
            raise ToilUserError(f"cannot create the bucket {self.where}: {e.message}") from None
        except ValueError as e:  # the library's "Client project not set"
            raise ToilUserError(
                f"cannot create the bucket {self.where}: no Google Cloud project ({e}); use google:PROJECT:NAME"
            ) from None

    def _owned(self) -> bool:
        try:
            return bool(self._bucket().exists(retry=None))
        except gexc.Forbidden:
            return False

    def delete_container(self) -> None:
        try:
            self._bucket().delete(retry=None)
        except gexc.NotFound:
            pass

    # -- objects
    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        blob = self._blob(key)
        if metadata:
            blob.metadata = dict(metadata)
        try:
            blob.upload_from_string(
                data, content_type=_OCTETS, if_generation_match=0 if create_only else None, retry=None
            )
            return True
        except gexc.PreconditionFailed:
            if create_only:
                return False
            raise

    def get(self, key: str) -> bytes:
        try:
            data: bytes = self._blob(key).download_as_bytes(retry=None)
            return data
        except gexc.NotFound:
            raise KeyError(key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            data: bytes = self._blob(key).download_as_bytes(start=start, end=start + length - 1, retry=None)
            return data
        except gexc.NotFound:
            raise KeyError(key) from None
        except gexc.RequestRangeNotSatisfiable:  # start at or past the end
            return b""

    def head(self, key: str) -> ObjectInfo | None:
        try:
            blob = self._bucket().get_blob(key, encryption_key=self.sse_key, retry=None)
        except gexc.NotFound:  # no bucket
            return None
        if blob is None:
            return None
        return ObjectInfo(key, int(blob.size or 0), dict(blob.metadata or {}))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Cloud Storage lists names in lexicographic order, page after page
        try:
            for blob in self.client.list_blobs(self.bucket, prefix=prefix or None, retry=None):
                yield ObjectInfo(blob.name, int(blob.size or 0))
        except gexc.NotFound:
            return

    def delete(self, keys: Sequence[str]) -> None:
        delete_each(keys, self._delete_one)  # batch deletes are not in every emulator

    def _delete_one(self, key: str) -> None:
        try:
            self._bucket().blob(key).delete(retry=None)
        except gexc.NotFound:
            pass

    # -- transfers
    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        blob = self._blob(key)
        blob.chunk_size = PART_SIZE  # large files go as a resumable upload in parts of this size
        if metadata:
            blob.metadata = dict(metadata)
        blob.upload_from_filename(local_path, content_type=_OCTETS, retry=None)

    def download_file(self, key: str, local_path: str) -> None:
        try:
            self._blob(key).download_to_filename(local_path, retry=None)  # removes the file if it fails
        except gexc.NotFound:
            raise KeyError(key) from None

    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        with streamed(_StreamWriter(self, key, dict(metadata or {}))) as stream:
            yield stream

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        try:
            blob = self._bucket().get_blob(key, encryption_key=self.sse_key, retry=None)
        except gexc.NotFound:  # no bucket
            blob = None
        if blob is None:
            raise KeyError(key)
        # read in parts, each retried by the store's policy, all of the generation found here
        reader = blob.open(
            "rb", chunk_size=PART_SIZE, retry=store_retry(self, "read_part"), if_generation_match=blob.generation
        )
        try:
            yield reader
        finally:
            reader.close()

    # -- errors
    def is_transient(self, error: BaseException) -> bool:
        status = _status(error)
        if status:
            return status in _TRANSIENT_STATUS or status >= 500
        if isinstance(error, DataCorruption):  # a download whose checksum did not match: fetched again
            return True
        return isinstance(
            error,
            (
                auth_exc.TransportError,
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                ConnectionError,
                TimeoutError,
            ),
        )

    def user_error(self, error: BaseException) -> str | None:
        if isinstance(error, auth_exc.DefaultCredentialsError):
            return (
                f"no Google credentials found for {self.where}: set GOOGLE_APPLICATION_CREDENTIALS to a service "
                f"account key file, or run 'gcloud auth application-default login'"
            )
        if isinstance(error, auth_exc.InvalidOperation) and "nonymous" in str(error):
            return (
                f"no Google credentials found for {self.where}, which is not public: set GOOGLE_APPLICATION_CREDENTIALS"
            )
        if isinstance(error, auth_exc.RefreshError) or _status(error) == 401:
            return f"the Google credentials were refused for {self.where}: {_message(error)}"
        if _status(error) == 403:
            return f"access denied to {self.where}: the credentials in use may not read or write it ({_message(error)})"
        if isinstance(error, requests.exceptions.ConnectionError):
            return f"cannot reach Cloud Storage for {self.where}: {error}"
        return None


def _message(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return str(text).splitlines()[0][:200] if text else type(error).__name__


class _StreamWriter(StreamWriter):
    """Bytes written become a resumable upload, part by part, once they outgrow one part; else one request."""

    def __init__(self, driver: GCSDriver, key: str, metadata: dict[str, str]) -> None:
        self.driver, self.key, self.metadata = driver, key, metadata
        self.buffer = bytearray()
        self.upload: Any = None  # the library's BlobWriter, once the object is larger than a part

    def write(self, data: Any) -> int:
        if self.upload is not None:
            self.upload.write(data)
            return len(data)
        self.buffer += data
        if len(self.buffer) >= PART_SIZE:
            blob = self.driver._blob(self.key)
            if self.metadata:
                blob.metadata = self.metadata
            self.upload = blob.open(
                "wb", chunk_size=PART_SIZE, content_type=_OCTETS, retry=store_retry(self.driver, "upload_part")
            )
            self.upload.write(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def finish(self) -> None:
        if self.upload is None:
            d = self.driver
            call_retrying(d, "put", lambda: d.put(self.key, bytes(self.buffer), metadata=self.metadata))
            return
        self.upload.close()  # the last part, which makes the object

    def abort(self) -> None:
        if self.upload is None:
            return
        try:
            self.upload.terminate()  # the parts sent are dropped; no object is made
        except Exception as e:  # an upload left open expires by itself within a week
            log.warning("%s: could not cancel the upload of %s: %s", self.driver.where, self.key, e)


def driver_for_locator(rest: str) -> GCSDriver:
    """The driver a locator's rest (after the scheme) names; ToilUserError in one line if it is malformed."""
    return GCSDriver(*parse_google_locator(rest))
