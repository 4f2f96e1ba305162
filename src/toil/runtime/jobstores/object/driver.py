"""What the object-store job store needs from one storage service: a small, typed driver interface.

A driver speaks to one bucket (S3), bucket (GCS) or container (Azure Blob).
Everything above it — the journal as numbered immutable objects, the leader
lease, payload packs, files, the node-local cache, retries — is written once
in store.py. A driver turns the service's errors into the few the store acts
on: a missing object is ``KeyError``, a create-only write that finds the key
taken returns False, a transient failure (throttling, HTTP 5xx, a reset
connection) is one ``is_transient`` says yes to, and a mistake a user can
act on (no credentials, access denied) is a one-line ``ToilUserError``.
"""

from __future__ import annotations

import abc
import builtins
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Callable, Generic, Iterator, Mapping, Sequence, TypeVar

from toil.exceptions import ToilUserError

Metadata = Mapping[str, str]
T = TypeVar("T")


class PerProcess(Generic[T]):
    """A service client made on first use in each process.

    Workers are forked from the leader: a client made before the fork holds pooled connections that parent and
    child would share, so one process would read the other's answers. A child makes its own.
    """

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._value, self._pid = self._make(), os.getpid()
            return self._value


@dataclass(frozen=True)
class ObjectInfo:
    """One object as a listing or a HEAD shows it."""

    key: str
    size: int
    metadata: Metadata = field(default_factory=dict)


class ObjectDriver(abc.ABC):
    """One bucket or container of an object storage service."""

    #: the URL scheme of the service's objects (s3, gs, azure), for messages
    scheme: str = "object"

    @property
    @abc.abstractmethod
    def where(self) -> str:
        """The container as a person names it (``s3://NAME--toil``), for messages."""

    # -- the container
    @abc.abstractmethod
    def container_exists(self) -> bool: ...

    @abc.abstractmethod
    def create_container(self) -> None:
        """Create the (private) container; ToilUserError in one line if the service refuses."""

    @abc.abstractmethod
    def delete_container(self) -> None:
        """Delete the container, which must be empty; nothing if there is none."""

    # -- objects
    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        """Store ``data`` under ``key``; with ``create_only``, return False (and change nothing) if the key exists."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The object's content; KeyError if there is none."""

    @abc.abstractmethod
    def get_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end of the object); KeyError if there is none."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size and metadata of an object, or None if there is none."""

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (metadata may be left out), in key order."""

    @abc.abstractmethod
    def delete(self, keys: "builtins.list[str]") -> None:
        """Delete these objects; keys that are gone already are no error."""

    # -- bulk transfers (multipart / block uploads for large objects)
    @abc.abstractmethod
    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        """Store a local file's content, in parts when it is large."""

    @abc.abstractmethod
    def download_file(self, key: str, local_path: str) -> None:
        """Write the object's content to a new local file; KeyError if there is none."""

    @abc.abstractmethod
    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        """A stream whose bytes become the object when the block ends without error (none of it otherwise).

        Streamed in parts as they fill, never staged in a local file.
        """

    @abc.abstractmethod
    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        """A stream of the object's content; KeyError if there is none."""

    def set_encryption_key(self, key: bytes | None) -> None:
        """Encrypt what is written from now on, and read it back, with this customer-supplied key (--sseKey)."""
        if key is not None:
            raise ToilUserError(f"--sseKey: {self.where} does not support customer-supplied encryption keys")

    # -- errors
    @abc.abstractmethod
    def is_transient(self, error: BaseException) -> bool:
        """Whether the call that raised ``error`` may succeed if made again (throttling, 5xx, a reset)."""

    def user_error(self, error: BaseException) -> str | None:
        """The one line to tell a user for an error they can act on (credentials, access), or None."""
        return None


def delete_each(keys: Sequence[str], delete_one: Callable[[str], None]) -> None:
    """Delete objects one request each, a few at a time: for services (or their emulators) without batch deletes."""
    if len(keys) <= 1:
        for key in keys:
            delete_one(key)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
        list(pool.map(delete_one, keys))
