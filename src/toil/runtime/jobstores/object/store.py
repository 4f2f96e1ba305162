"""The object-store job store: a workflow's whole state in one bucket (S3, GCS) or container (Azure Blob).

Layout (keys in the bucket)::

    toil.json              metadata: format version, workflow id, options
    lease/<EPOCH>          the leader lease (lease.py)
    journal/seg-<SEQ>      the leader's journal as immutable segments, journal/snap-<SEQ> snapshots (journal.py)
    status.json            the leader's live counts, rewritten about once a second (toil status)
    packs/<name>           pickled job payloads, many jobs per pack (read whole once per process, then cached)
    returns/<node>         return values that promises read, framed with length and CRC-32 (small ones travel in
                           the journal instead: no object per job)
    results/<token>        a remote worker's result for the leader
    messages/<name>        what a leader and remote workers exchange
    flags/<name>           service start/stop flags
    files/<hex>/<name>     global files (metadata: executable)
    shared/<name>          shared files
    logs/<name>            logs of failed jobs
    stats/<time>-<id>      per-job statistics (--stats), one object per batch of lines

Every call goes through a RetryingDriver. What a node keeps (the file cache,
the local batch system's results logs, the workers lock) is in node.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Iterator

from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreCorruptError, JobStoreExistsException, NoSuchJobStoreException, ToilUserError
from toil.runtime.jobstores.base import JobStore, NoSuchFileException
from toil.runtime.jobstores.file.fsutil import flock_taken
from toil.runtime.jobstores.framing import frame_value, unframe_value
from toil.runtime.jobstores.journal import Journal
from toil.runtime.jobstores.object.driver import ObjectDriver
from toil.runtime.jobstores.object.journal import ObjectJournal
from toil.runtime.jobstores.object.lease import Lease
from toil.runtime.jobstores.object.node import NodeFiles
from toil.runtime.jobstores.object.retry import RetryingDriver

if TYPE_CHECKING:
    from toil.runtime.config import Config

FORMAT = "toil-py-objectstore/1"
META = "toil.json"
STATUS = "status.json"
_FILE_ID = re.compile(r"^[0-9a-f]{32}/[^/\x00]+$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.@+-]+$")
_PACK_CACHE_BYTES = 64 << 20
EXECUTABLE = "toil-executable"
_RLOG = ".rlog"


def _clean_basename(name: str | None) -> str:
    base = os.path.basename(name or "") or "file"
    if base in (".", ".."):
        base = "file"
    return base.replace("\x00", "_")[:200]


def _safe(name: str, what: str) -> str:
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise ValueError(f"bad {what} name {name!r}: use letters, digits, '.', '_', '-', '@', '+'")
    return name


def read_sse_key(path: str) -> bytes:
    """The 32-byte key in an --sseKey file, as Toil reads it."""
    try:
        with open(path, "rb") as f:
            key = f.read().strip()
    except OSError as e:
        raise ToilUserError(f"--sseKey {path}: {e.strerror}") from None
    if len(key) != 32:
        raise ToilUserError(f"--sseKey {path}: the key must be 32 bytes long, found {len(key)}")
    return key


class ObjectJobStore(JobStore):
    """A job store in one bucket or container of an object storage service, through a driver."""

    def __init__(self, locator: str, driver: ObjectDriver) -> None:
        self.locator = locator
        self.driver: ObjectDriver = RetryingDriver(driver)
        self.node = NodeFiles(locator)
        self._lease = Lease(self.driver, self.locked_error)
        self._journal: ObjectJournal | None = None
        self._packs: OrderedDict[str, bytes] = OrderedDict()
        self._pack_bytes = 0
        self._config: Config | None = None

    @property
    def config(self) -> "Config | None":
        return self._config

    @config.setter
    def config(self, config: "Config | None") -> None:
        """The workflow's options; --sseKey turns on encryption of everything written after the metadata."""
        self._config = config
        path = config.sseKey if config is not None else None
        self.driver.set_encryption_key(read_sse_key(path) if path else None)

    # -- lifecycle
    def exists(self) -> bool:
        return self.driver.head(META) is not None

    def create(self, meta: dict[str, Any]) -> None:
        if self.exists():
            raise JobStoreExistsException(self.locator)
        if not self.driver.container_exists():
            self.driver.create_container()
        elif next(iter(self.driver.list("")), None) is not None:
            raise ToilUserError(
                f"cannot create the job store {self.locator}: {self.driver.where} exists, is not empty and "
                f"holds no job store; choose another name"
            )
        self.write_meta({"format": FORMAT, "created": time.time(), **meta})

    def read_meta(self) -> dict[str, Any]:
        try:
            raw = self.driver.get(META)
        except KeyError:
            raise NoSuchJobStoreException(self.locator) from None
        try:
            meta = json.loads(raw)
        except ValueError as e:
            raise ToilUserError(f"{self.driver.where}/{META}: the job store's metadata is damaged ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else "?"
            raise ToilUserError(f"{self.locator} is not a job store of this version of toil (format {found!r})")
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        self.driver.put(META, json.dumps(meta, indent=1, default=str).encode())

    def destroy(self) -> None:
        self._lease.release()
        self._journal = None
        self.node.remove()
        if not self.driver.container_exists():
            return
        keys = [info.key for info in self.driver.list("")]
        if keys and META not in keys:
            raise ToilUserError(f"refusing to delete {self.driver.where}: it holds no job store")
        for i in range(0, len(keys), 1000):
            self.driver.delete(keys[i : i + 1000])
        self.driver.delete_container()

    # -- the lease (lease.py) and the node's workers lock
    def lock_leader(self) -> None:
        self._lease.acquire()

    def unlock_leader(self) -> None:
        self._lease.release()

    def leader_info(self) -> dict[str, Any]:
        return self._lease.holder()

    def leader_lease_held(self) -> bool:
        return self._lease.held()

    def workers_lock_path(self) -> str:
        return os.path.join(self.node.ensure("locks"), "workers.lock")

    def workers_running(self) -> bool:
        return flock_taken(self.node.path("locks", "workers.lock"), fcntl.LOCK_EX)

    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = ObjectJournal(self.driver)
        return self._journal

    # -- payloads, returns, results
    def write_pack(self, name: str, data: bytes) -> None:
        self.driver.put(f"packs/{name}", data)

    def read_payload(self, ref: PayloadRef) -> bytes:
        pack = self._packs.get(ref.pack)
        if pack is None:
            try:
                pack = self.driver.get(f"packs/{ref.pack}")
            except KeyError:
                raise JobStoreCorruptError(
                    f"{self.driver.where}/packs/{ref.pack}: a job's payloads are missing"
                ) from None
            self._remember_pack(ref.pack, pack)
        data = pack[ref.offset : ref.offset + ref.length]
        if len(data) != ref.length:
            raise JobStoreCorruptError(
                f"{self.driver.where}/packs/{ref.pack}: a job's payload is cut short ({len(data)} of {ref.length} "
                f"bytes); the job store cannot be resumed safely"
            )
        return data

    def _remember_pack(self, name: str, data: bytes) -> None:
        """Packs never change once written: a warm worker keeps the latest ones instead of a GET per job."""
        self._packs[name] = data
        self._pack_bytes += len(data)
        while self._pack_bytes > _PACK_CACHE_BYTES and len(self._packs) > 1:
            self._pack_bytes -= len(self._packs.popitem(last=False)[1])

    def write_return(self, node_id: str, data: bytes) -> None:
        self.driver.put(f"returns/{node_id}", frame_value(data))

    def read_return(self, node_id: str) -> bytes:
        raw = self.driver.get(f"returns/{node_id}")  # KeyError if none
        data = unframe_value(raw)
        if data is None:
            raise JobStoreCorruptError(
                f"{self.driver.where}/returns/{node_id}: the return value of job {node_id} is damaged "
                f"({len(raw)} bytes); the job store cannot be resumed safely"
            )
        return data

    def read_returns(self, node_ids: list[str]) -> dict[str, bytes]:
        """In parallel: a fan-in reading a thousand values waits for about one round trip per 16 of them."""
        from concurrent.futures import ThreadPoolExecutor

        def one(node_id: str) -> tuple[str, bytes | None]:
            try:
                return node_id, self.read_return(node_id)
            except KeyError:
                return node_id, None

        with ThreadPoolExecutor(min(16, len(node_ids)) or 1) as pool:
            return {k: v for k, v in pool.map(one, node_ids) if v is not None}

    def write_result(self, token: str, data: bytes) -> None:
        self.driver.put(f"results/{token}", data)

    def read_result(self, token: str) -> bytes | None:
        if token.endswith(_RLOG):
            try:
                with open(self.node.path("results", token), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
        try:
            return self.driver.get(f"results/{token}")
        except KeyError:
            return None

    def delete_result(self, token: str) -> None:
        if token.endswith(_RLOG):
            try:
                os.unlink(self.node.path("results", token))
            except FileNotFoundError:
                pass
            return
        self.driver.delete([f"results/{token}"])

    def list_results(self) -> list[str]:
        remote = [info.key[len("results/") :] for info in self.driver.list("results/")]
        try:
            local = [n for n in os.listdir(self.node.path("results")) if n.endswith(_RLOG)]
        except FileNotFoundError:
            local = []
        return remote + local

    def result_log_path(self, name: str) -> str:
        """Warm workers of the local batch system append results on their node (see node.py)."""
        return os.path.join(self.node.ensure("results"), f"{name}{_RLOG}")

    # -- messages and flags
    def write_message(self, name: str, data: bytes) -> None:
        self.driver.put(f"messages/{_safe(name, 'message')}", data)

    def read_message(self, name: str) -> bytes:
        return self.driver.get(f"messages/{_safe(name, 'message')}")

    def delete_message(self, name: str) -> None:
        self.driver.delete([f"messages/{_safe(name, 'message')}"])

    def set_flag(self, name: str) -> None:
        self.driver.put(f"flags/{_safe(name, 'flag')}", b"")

    def has_flag(self, name: str) -> bool:
        return self.driver.head(f"flags/{_safe(name, 'flag')}") is not None

    def clear_flag(self, name: str) -> None:
        self.driver.delete([f"flags/{_safe(name, 'flag')}"])

    # -- global files
    @staticmethod
    def _key(file_id: str) -> str:
        if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
            raise NoSuchFileException(str(file_id), "not a file ID of this job store")
        return f"files/{file_id}"

    @staticmethod
    def _new_id(basename: str | None) -> str:
        return f"{uuid.uuid4().hex}/{_clean_basename(basename)}"

    def _info(self, file_id: str) -> tuple[int, bool]:
        info = self.driver.head(self._key(file_id))
        if info is None:
            raise NoSuchFileException(file_id)
        return info.size, info.metadata.get(EXECUTABLE) == "1"

    def write_file(self, local_path: str, basename: str | None = None) -> tuple[str, int, bool]:
        file_id = self._new_id(basename or local_path)
        executable = bool(os.stat(local_path).st_mode & 0o100)
        size = os.path.getsize(local_path)
        self.driver.upload_file(self._key(file_id), local_path, {EXECUTABLE: "1" if executable else "0"})
        return file_id, size, executable

    @contextmanager
    def write_file_stream(self, basename: str | None = None) -> Iterator[tuple[IO[bytes], str]]:
        file_id = self._new_id(basename)
        with self.driver.open_write(self._key(file_id), {EXECUTABLE: "0"}) as stream:
            yield stream, file_id

    def read_file(self, file_id: str, local_path: str, link: str = "copy") -> None:
        key = self._key(file_id)
        _, executable = self._info(file_id)
        cached = self.node.cached(file_id.split("/", 1)[0], lambda tmp: self._download(key, tmp, file_id, executable))
        if os.path.lexists(local_path):
            os.unlink(local_path)
        if link in ("hardlink", "symlink"):  # a hard link to the node's copy: an eviction leaves it in place
            try:
                os.link(cached, local_path)
                return
            except OSError:
                pass
        shutil.copyfile(cached, local_path)
        os.chmod(local_path, 0o700 if executable else 0o600)

    def _download(self, key: str, tmp: str, file_id: str, executable: bool) -> None:
        try:
            self.driver.download_file(key, tmp)
        except KeyError:
            raise NoSuchFileException(file_id) from None
        os.chmod(tmp, 0o700 if executable else 0o600)

    @contextmanager
    def read_file_stream(self, file_id: str) -> Iterator[IO[bytes]]:
        cached = self.node.path("cache", file_id.split("/", 1)[0]) if _FILE_ID.match(str(file_id)) else ""
        if cached and os.path.exists(cached):
            with open(cached, "rb") as f:
                yield f
            return
        try:
            with self.driver.open_read(self._key(file_id)) as stream:
                yield stream
        except KeyError:
            raise NoSuchFileException(file_id) from None

    def delete_file(self, file_id: str) -> None:
        try:
            key = self._key(file_id)
        except NoSuchFileException:
            return
        self.driver.delete([key])
        self.node.forget(file_id.split("/", 1)[0])

    def file_exists(self, file_id: str) -> bool:
        try:
            return self.driver.head(self._key(file_id)) is not None
        except NoSuchFileException:
            return False

    def get_file_size(self, file_id: str) -> int:
        return self._info(file_id)[0]

    def file_is_executable(self, file_id: str) -> bool:
        return self._info(file_id)[1]

    def local_area(self, name: str) -> str | None:
        return None  # nothing here is local: front ends move files by job store IDs

    def write_shared_file(self, name: str, data: bytes) -> None:
        if not _SAFE_NAME.match(name):
            raise ToilUserError(f"bad shared file name {name!r}: use letters, digits, '.', '_', '-'")
        self.driver.put(f"shared/{name}", data)

    def read_shared_file(self, name: str) -> bytes:
        if not _SAFE_NAME.match(name):
            raise ToilUserError(f"bad shared file name {name!r}: use letters, digits, '.', '_', '-'")
        try:
            return self.driver.get(f"shared/{name}")
        except KeyError:
            raise NoSuchFileException(name, "no shared file of that name") from None

    # -- logs, stats, status
    def write_log(self, name: str, data: bytes) -> None:
        self.driver.put(f"logs/{_safe(name, 'log')}", data)

    def read_log(self, name: str) -> bytes | None:
        try:
            return self.driver.get(f"logs/{_safe(name, 'log')}")
        except KeyError:
            return None

    def append_stats(self, lines: list[bytes]) -> None:
        if lines:  # objects cannot be appended to: one object per batch, named to sort in time order
            self.driver.put(f"stats/{time.time_ns():020d}-{uuid.uuid4().hex[:8]}", b"".join(lines))

    def read_stats(self) -> bytes | None:
        keys = sorted(info.key for info in self.driver.list("stats/"))
        if not keys:
            return None
        return b"".join(self.driver.get(k) for k in keys)

    def write_status(self, data: bytes) -> None:
        self.driver.put(STATUS, data)

    def read_status(self) -> bytes | None:
        try:
            return self.driver.get(STATUS)
        except KeyError:
            return None
