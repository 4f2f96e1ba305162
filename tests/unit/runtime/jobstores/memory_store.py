"""A complete job store over dicts, for tests: it shows the interface asks nothing of POSIX.

``MemoryJobStore("name")`` handles share one ``MemoryBackend`` per name (as
processes share a directory), so a second handle sees what a first made
durable, and a second ``lock_leader`` is refused. The journal keeps records
as JSON text, so a replay never shares objects with the state that wrote
them. Register the ``memory:`` scheme with ``register()`` to open it by
locator.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Iterator, Mapping

from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreCorruptError, JobStoreExistsException, NoSuchJobStoreException, ToilUserError
from toil.runtime.jobstores import register_job_store
from toil.runtime.jobstores.base import JobStore, NoSuchFileException
from toil.runtime.jobstores.journal import Journal, Record, Snapshot

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.@+-]+$")


@dataclass
class StoredFile:
    data: bytes
    executable: bool


@dataclass
class MemoryBackend:
    """Everything one memory store holds: what a directory or a bucket would."""

    meta: dict[str, Any] | None = None
    lease: object | None = None  # the handle holding the leader lease
    leader: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # JSON of the latest snapshot
    records: list[str] = field(default_factory=list)  # JSON of the durable records after it
    packs: dict[str, bytes] = field(default_factory=dict)
    returns: dict[str, bytes] = field(default_factory=dict)
    results: dict[str, bytes] = field(default_factory=dict)
    messages: dict[str, bytes] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    files: dict[str, StoredFile] = field(default_factory=dict)
    shared: dict[str, bytes] = field(default_factory=dict)
    logs: dict[str, bytes] = field(default_factory=dict)
    stats: list[bytes] = field(default_factory=list)
    status: bytes | None = None


BACKENDS: dict[str, MemoryBackend] = {}


class MemoryJournal(Journal):
    """Records buffered per handle until ``sync``, then in the backend as JSON text."""

    def __init__(self, backend: MemoryBackend) -> None:
        super().__init__()
        self.backend = backend
        self._buffer: list[str] = []

    def load(self, repair: bool = True) -> tuple[Snapshot | None, list[Record]]:
        snapshot = json.loads(self.backend.snapshot) if self.backend.snapshot is not None else None
        records = [json.loads(r) for r in self.backend.records]
        self.base_seq = int(snapshot["seq"]) if snapshot else 0
        self.seq = self.base_seq + len(records)
        return snapshot, records

    def append(self, records: list[Record]) -> None:
        self._buffer.extend(json.dumps(r) for r in records)
        self.seq += len(records)

    def sync(self) -> None:
        self.backend.records.extend(self._buffer)
        self._buffer.clear()

    def write_snapshot(self, state: Mapping[str, Any]) -> None:
        self.sync()
        self.backend.snapshot = json.dumps({"version": 1, "seq": self.seq, "state": dict(state)})
        self.backend.records.clear()
        self.base_seq = self.seq


class MemoryJobStore(JobStore):
    """A job store in this process's memory, named ``memory:NAME``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.locator = f"memory:{name}"
        self.b = BACKENDS.setdefault(name, MemoryBackend())
        self._journal: MemoryJournal | None = None

    # -- lifecycle
    def exists(self) -> bool:
        return self.b.meta is not None

    def create(self, meta: dict[str, Any]) -> None:
        if self.exists():
            raise JobStoreExistsException(self.locator)
        self.b.meta = {"format": "memory/1", "created": time.time(), **meta}

    def read_meta(self) -> dict[str, Any]:
        if self.b.meta is None:
            raise NoSuchJobStoreException(self.locator)
        return json.loads(json.dumps(self.b.meta, default=str))

    def write_meta(self, meta: dict[str, Any]) -> None:
        self.b.meta = json.loads(json.dumps(meta, default=str))

    def destroy(self) -> None:
        BACKENDS.pop(self.name, None)
        self.b = BACKENDS.setdefault(self.name, MemoryBackend())
        self._journal = None

    # -- lease
    def lock_leader(self) -> None:
        if self.b.lease is not None:
            raise self.locked_error(self.leader_info())
        self.b.lease = self
        self.b.leader = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}

    def unlock_leader(self) -> None:
        if self.b.lease is self:
            self.b.lease, self.b.leader = None, {}

    def leader_info(self) -> dict[str, Any]:
        return dict(self.b.leader)

    def leader_lease_held(self) -> bool:
        return self.b.lease is not None

    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = MemoryJournal(self.b)
        return self._journal

    # -- payloads, returns, results, messages
    def write_pack(self, name: str, data: bytes) -> None:
        self.b.packs[name] = bytes(data)

    def read_payload(self, ref: PayloadRef) -> bytes:
        data = self.b.packs[ref.pack][ref.offset : ref.offset + ref.length]
        if len(data) != ref.length:
            raise JobStoreCorruptError(
                f"{self.locator}: pack {ref.pack}: a job's payload is cut short ({len(data)} of {ref.length} bytes)"
            )
        return data

    def write_return(self, node_id: str, data: bytes) -> None:
        self.b.returns[node_id] = bytes(data)

    def read_return(self, node_id: str) -> bytes:
        return self.b.returns[node_id]

    def write_result(self, token: str, data: bytes) -> None:
        self.b.results[token] = bytes(data)

    def read_result(self, token: str) -> bytes | None:
        return self.b.results.get(token)

    def delete_result(self, token: str) -> None:
        self.b.results.pop(token, None)

    def list_results(self) -> list[str]:
        return list(self.b.results)

    def write_message(self, name: str, data: bytes) -> None:
        self.b.messages[_message_name(name)] = bytes(data)

    def read_message(self, name: str) -> bytes:
        return self.b.messages[_message_name(name)]

    def delete_message(self, name: str) -> None:
        self.b.messages.pop(_message_name(name), None)

    # -- flags
    def set_flag(self, name: str) -> None:
        self.b.flags.add(name)

    def has_flag(self, name: str) -> bool:
        return name in self.b.flags

    def clear_flag(self, name: str) -> None:
        self.b.flags.discard(name)

    # -- global files
    def _get(self, file_id: str) -> StoredFile:
        try:
            return self.b.files[file_id]
        except (KeyError, TypeError):
            raise NoSuchFileException(str(file_id)) from None

    def _new_id(self, basename: str | None) -> str:
        return f"{uuid.uuid4().hex}/{os.path.basename(basename or '') or 'file'}"

    def write_file(self, local_path: str, basename: str | None = None) -> tuple[str, int, bool]:
        with open(local_path, "rb") as f:
            data = f.read()
        executable = bool(os.stat(local_path).st_mode & 0o100)
        file_id = self._new_id(basename or local_path)
        self.b.files[file_id] = StoredFile(data, executable)
        return file_id, len(data), executable

    @contextmanager
    def write_file_stream(self, basename: str | None = None) -> Iterator[tuple[IO[bytes], str]]:
        file_id, buffer = self._new_id(basename), io.BytesIO()
        yield buffer, file_id
        self.b.files[file_id] = StoredFile(buffer.getvalue(), False)  # only once the writer finished

    def read_file(self, file_id: str, local_path: str, link: str = "copy") -> None:
        stored = self._get(file_id)  # links fall back to copies: nothing here to link to
        if os.path.lexists(local_path):
            os.unlink(local_path)
        fd = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700 if stored.executable else 0o600)
        with open(fd, "wb") as f:
            f.write(stored.data)

    @contextmanager
    def read_file_stream(self, file_id: str) -> Iterator[IO[bytes]]:
        yield io.BytesIO(self._get(file_id).data)

    def delete_file(self, file_id: str) -> None:
        self.b.files.pop(file_id, None)

    def file_exists(self, file_id: str) -> bool:
        return isinstance(file_id, str) and file_id in self.b.files

    def get_file_size(self, file_id: str) -> int:
        return len(self._get(file_id).data)

    def file_is_executable(self, file_id: str) -> bool:
        return self._get(file_id).executable

    def local_area(self, name: str) -> str | None:
        return None

    def write_shared_file(self, name: str, data: bytes) -> None:
        if not _SAFE_NAME.match(name):
            raise ToilUserError(f"bad shared file name {name!r}: use letters, digits, '.', '_', '-'")
        self.b.shared[name] = bytes(data)

    def read_shared_file(self, name: str) -> bytes:
        try:
            return self.b.shared[name]
        except KeyError:
            raise NoSuchFileException(name, "no shared file of that name") from None

    # -- logs, stats, status
    def write_log(self, name: str, data: bytes) -> None:
        self.b.logs[name] = bytes(data)

    def read_log(self, name: str) -> bytes | None:
        return self.b.logs.get(name)

    def append_stats(self, lines: list[bytes]) -> None:
        self.b.stats.extend(lines)

    def read_stats(self) -> bytes | None:
        return b"".join(self.b.stats) if self.b.stats else None

    def write_status(self, data: bytes) -> None:
        self.b.status = bytes(data)

    def read_status(self) -> bytes | None:
        return self.b.status


def _message_name(name: str) -> str:
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise ValueError(f"bad message name {name!r}: use letters, digits, '.', '_', '-', '@', '+'")
    return name


def register() -> None:
    """Make ``memory:NAME`` locators open a MemoryJobStore (tests undo it with monkeypatch)."""
    register_job_store("memory", MemoryJobStore)
