"""Retry object-store calls that fail for a moment: throttling (503 SlowDown), HTTP 5xx, reset connections.

The same policy as the file store's retries (runtime/jobstores/retry.py: TOIL_JOBSTORE_RETRIES attempts,
waits doubling from TOIL_JOBSTORE_RETRY_SECONDS), with jitter so that many workers throttled together do
not come back together; each retry is logged and counted in the same table the leader sums up at the end.
"""

from __future__ import annotations

import builtins
import random
import time
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Callable, Iterator, TypeVar

from toil.exceptions import JobStoreUnavailableError, ToilUserError
from toil.runtime.jobstores import retry as fs_retry
from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver, ObjectInfo

T = TypeVar("T")
MAX_WAIT = 20.0


def call_retrying(driver: ObjectDriver, op: str, fn: Callable[[], T]) -> T:
    """``fn()``, made again with backoff and jitter while it fails with an error the driver calls transient."""
    wait, limit = fs_retry.first_wait(), fs_retry.attempts()
    for attempt in range(1, limit + 1):
        try:
            return fn()
        except Exception as e:
            transient = driver.is_transient(e)
            if attempt == limit or not transient:
                message = driver.user_error(e)
                if message is not None:
                    raise ToilUserError(message) from None
                if transient:
                    detail = " ".join(str(e).split())[:300]
                    raise JobStoreUnavailableError(
                        f"{driver.where}: the storage service kept failing ({op}, {limit} attempts): {detail}"
                    ) from None
                raise
            pause = wait * random.uniform(0.5, 1.5)
            fs_retry.note_retry(op, OSError(0, f"{type(e).__name__}: {str(e)[:200]}"), attempt, pause)
            time.sleep(pause)
            wait = min(2 * wait, MAX_WAIT)
    raise AssertionError("unreachable")


class RetryingDriver(ObjectDriver):
    """A driver whose every call is retried on transient errors (streams: their opening)."""

    def __init__(self, inner: ObjectDriver) -> None:
        self.inner = inner
        self.scheme = inner.scheme

    @property
    def where(self) -> str:
        return self.inner.where

    def _r(self, op: str, fn: Callable[[], T]) -> T:
        return call_retrying(self.inner, op, fn)

    def container_exists(self) -> bool:
        return self._r("container_exists", self.inner.container_exists)

    def create_container(self) -> None:
        self._r("create_container", self.inner.create_container)

    def delete_container(self) -> None:
        self._r("delete_container", self.inner.delete_container)

    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        return self._r("put", lambda: self.inner.put(key, data, create_only=create_only, metadata=metadata))

    def get(self, key: str) -> bytes:
        return self._r("get", lambda: self.inner.get(key))

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self._r("get_range", lambda: self.inner.get_range(key, start, length))

    def head(self, key: str) -> ObjectInfo | None:
        return self._r("head", lambda: self.inner.head(key))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # listed whole, so that a retry never yields an object twice
        return iter(self._r("list", lambda: list(self.inner.list(prefix))))

    def delete(self, keys: "builtins.list[str]") -> None:
        self._r("delete", lambda: self.inner.delete(keys))

    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        self._r("upload_file", lambda: self.inner.upload_file(key, local_path, metadata))

    def download_file(self, key: str, local_path: str) -> None:
        self._r("download_file", lambda: self.inner.download_file(key, local_path))

    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        with self.inner.open_write(key, metadata) as stream:
            yield stream

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        opened = self._r("open_read", lambda: _entered(self.inner.open_read(key)))
        stream, manager = opened
        try:
            yield stream
        finally:
            manager.__exit__(None, None, None)

    def set_encryption_key(self, key: bytes | None) -> None:
        self.inner.set_encryption_key(key)

    def is_transient(self, error: BaseException) -> bool:
        return self.inner.is_transient(error)

    def user_error(self, error: BaseException) -> str | None:
        return self.inner.user_error(error)


def _entered(manager: AbstractContextManager[IO[bytes]]) -> tuple[IO[bytes], AbstractContextManager[IO[bytes]]]:
    return manager.__enter__(), manager
