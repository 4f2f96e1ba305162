"""An object driver over a dict, for tests: the object-store job store's logic without a server.

``MemoryDriver(name)`` handles share one bucket per name, as clients of one service do; ``faults`` makes
the next calls of some operations fail with a transient error, to exercise the store's retries.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from typing import IO, Iterator

from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver, ObjectInfo

BUCKETS: dict[str, dict[str, tuple[bytes, dict[str, str]]] | None] = {}


class TransientError(ConnectionError):
    """What a throttled or reset call raises in these tests."""


class MemoryDriver(ObjectDriver):
    scheme = "mem"

    def __init__(self, name: str) -> None:
        self.name = name
        BUCKETS.setdefault(name, None)
        self.faults: dict[str, int] = {}  # operation -> how many more calls fail
        self.calls = 0

    @property
    def where(self) -> str:
        return f"mem://{self.name}"

    def _bucket(self) -> dict[str, tuple[bytes, dict[str, str]]]:
        self.calls += 1
        bucket = BUCKETS.get(self.name)
        if bucket is None:
            raise KeyError(self.name)
        return bucket

    def _fault(self, op: str) -> None:
        if self.faults.get(op, 0) > 0:
            self.faults[op] -= 1
            raise TransientError(f"injected failure of {op}")

    def container_exists(self) -> bool:
        return BUCKETS.get(self.name) is not None

    def create_container(self) -> None:
        if BUCKETS.get(self.name) is None:
            BUCKETS[self.name] = {}

    def delete_container(self) -> None:
        BUCKETS[self.name] = None

    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        self._fault("put")
        bucket = self._bucket()
        if create_only and key in bucket:
            return False
        bucket[key] = (bytes(data), dict(metadata or {}))
        return True

    def get(self, key: str) -> bytes:
        self._fault("get")
        try:
            return self._bucket()[key][0]
        except KeyError:
            raise KeyError(key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self.get(key)[start : start + length]

    def head(self, key: str) -> ObjectInfo | None:
        self._fault("head")
        if not self.container_exists():
            return None
        found = self._bucket().get(key)
        return ObjectInfo(key, len(found[0]), found[1]) if found else None

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        self._fault("list")
        if not self.container_exists():
            return iter(())
        bucket = self._bucket()
        return iter([ObjectInfo(k, len(bucket[k][0])) for k in sorted(bucket) if k.startswith(prefix)])

    def delete(self, keys: list[str]) -> None:
        self._fault("delete")
        bucket = self._bucket()
        for key in keys:
            bucket.pop(key, None)

    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        with open(local_path, "rb") as f:
            self.put(key, f.read(), metadata=metadata)

    def download_file(self, key: str, local_path: str) -> None:
        data = self.get(key)
        with open(local_path, "wb") as f:
            f.write(data)

    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        buffer = io.BytesIO()
        yield buffer
        self.put(key, buffer.getvalue(), metadata=metadata)

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        yield io.BytesIO(self.get(key))

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, TransientError)


def register(monkeypatch: object) -> None:
    """Make ``objmem:NAME`` locators open an object-store job store over a MemoryDriver (for one test)."""
    from toil.runtime.jobstores import registry
    from toil.runtime.jobstores.object.store import ObjectJobStore

    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))  # type: ignore[attr-defined]
    registry.register_job_store("objmem", lambda rest: ObjectJobStore(f"objmem:{rest}", MemoryDriver(rest)))
