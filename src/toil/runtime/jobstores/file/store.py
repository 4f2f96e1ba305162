"""The ``file:`` job store: a directory on a local or shared file system.

Layout (directories 0700, files 0600)::

    toil.json            metadata: format version, workflow id, options
    leader.lock          flock'ed by the one running leader (the lease); leader.json says who
    workers.lock         flock'ed (shared) by every job process while it lives (see workers_lock_path)
    status.json          the leader's live counts, rewritten about once a second (toil status)
    state/               journal-<seq>.log and snapshot.json (see file_journal.py)
    payloads/<p>.pack    pickled job payloads, many jobs per pack
    returns/<node>       pickled return values that promises read (small ones travel in the journal instead)
    results/<token>      a worker's result for the leader (rename-atomic)
    messages/<name>      what a leader and remote workers exchange: job messages, packs (rename-atomic)
    files/<xx>/<id>      global files (symlinks for linked imports)
    shared/<name>        shared files (import_file with a shared name)
    flags/<name>         service start/stop flags
    logs/<name>          logs of failed jobs
    stats/stats.jsonl    per-job statistics and run records (--stats; see runtime/observe/statsdata.py)
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
import time
import uuid
from contextlib import contextmanager
from typing import IO, Any, Iterator

from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreCorruptError, JobStoreExistsException, NoSuchJobStoreException, ToilUserError
from toil.runtime.jobstores.base import JobStore, NoSuchFileException
from toil.runtime.jobstores.file.fsutil import atomic_write, flock_taken, fsync_dir, temp_name, unlink_quiet
from toil.runtime.jobstores.file.journal import FileJournal
from toil.runtime.jobstores.framing import frame_value, unframe_value
from toil.runtime.jobstores.journal import Journal
from toil.runtime.jobstores.retry import retried

FORMAT = "toil-py-jobstore/1"
META = "toil.json"
STATUS = "status.json"
LEADER_LOCK = "leader.lock"
WORKERS_LOCK = "workers.lock"
MAX_PATH = 4096  # Linux's PATH_MAX
MAX_DEPTH = 512  # deeper paths would exhaust Python's recursion making their directories
_SUBDIRS = ("state", "payloads", "returns", "results", "files", "shared", "flags", "logs", "stats", "tmp")
_FILE_ID = re.compile(r"^[0-9a-f]{32}/[^/\x00]+$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.@+-][A-Za-z0-9_.@+-]*$")


def _clean_basename(name: str | None) -> str:
    base = os.path.basename(name or "") or "file"
    if base in (".", ".."):
        base = "file"
    return base.replace("\x00", "_")[:200]


class FileJobStore(JobStore):
    """A job store in a directory."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.locator = f"file:{self.path}"
        self._lock_fd: int | None = None
        self._journal: FileJournal | None = None

    # -- lifecycle
    def exists(self) -> bool:
        return os.path.exists(os.path.join(self.path, META))

    def create(self, meta: dict[str, Any]) -> None:
        if self.exists():
            raise JobStoreExistsException(self.locator)
        if os.path.exists(self.path):
            if not os.path.isdir(self.path):
                raise ToilUserError(f"cannot create the job store {self.locator}: a file of that name exists")
            if os.listdir(self.path):
                raise ToilUserError(
                    f"cannot create the job store {self.locator}: the directory exists, is not "
                    f"empty and holds no job store; choose another path"
                )
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            for sub in _SUBDIRS:
                os.makedirs(os.path.join(self.path, sub), mode=0o700, exist_ok=True)
        except OSError as e:
            raise ToilUserError(f"cannot create the job store {self.locator}: {e.strerror}") from None
        self.write_meta({"format": FORMAT, "created": time.time(), **meta})
        fsync_dir(self.path)

    def read_meta(self) -> dict[str, Any]:
        path = os.path.join(self.path, META)
        try:
            with open(path, "rb") as f:
                meta = json.load(f)
        except FileNotFoundError:
            raise NoSuchJobStoreException(self.locator) from None
        except ValueError as e:
            raise ToilUserError(f"{path}: the job store's metadata is damaged ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ToilUserError(
                f"{self.locator} is not a job store of this version of toil "
                f"(format {meta.get('format') if isinstance(meta, dict) else '?'!r})"
            )
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write(os.path.join(self.path, META), json.dumps(meta, indent=1, default=str).encode())

    def destroy(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if not os.path.exists(self.path):
            return
        if not self.exists() and os.listdir(self.path):
            raise ToilUserError(f"refusing to delete {self.path}: it is not a job store")
        shutil.rmtree(self.path, ignore_errors=True)

    # -- the lease: an exclusive flock on leader.lock, which dies with the process that holds it
    def lock_leader(self) -> None:
        path = os.path.join(self.path, LEADER_LOCK)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise self.locked_error(self.leader_info()) from None
        self._lock_fd = fd
        atomic_write(
            os.path.join(self.path, "leader.json"),
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode(),
            durable=False,
        )

    def unlock_leader(self) -> None:
        if self._lock_fd is not None:
            unlink_quiet(os.path.join(self.path, "leader.json"))
            os.close(self._lock_fd)
            self._lock_fd = None

    def leader_info(self) -> dict[str, Any]:
        try:
            with open(os.path.join(self.path, "leader.json"), "rb") as f:
                return dict(json.load(f))
        except (OSError, ValueError):
            return {}

    def leader_lease_held(self) -> bool:
        # flock sees leaders on this host (and, on most shared file systems, on others)
        try:
            fd = os.open(os.path.join(self.path, LEADER_LOCK), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)  # and with it the probe's own lock

    def leader_lease_fds(self) -> list[int]:
        return [self._lock_fd] if self._lock_fd is not None else []

    def workers_lock_path(self) -> str:
        return os.path.join(self.path, WORKERS_LOCK)

    def workers_running(self) -> bool:
        return flock_taken(self.workers_lock_path(), fcntl.LOCK_EX)

    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = FileJournal(os.path.join(self.path, "state"))
        return self._journal

    # -- payloads, returns, results
    # Workers write with rename-atomicity but no fsync of their own: the leader's journal fsync is the
    # one durability point. On ext4 (data=ordered) that commit also flushes the data of files renamed
    # before it, so what a durable record refers to is durable too.
    @retried
    def write_pack(self, name: str, data: bytes) -> None:
        atomic_write(self._p("payloads", f"{name}.pack"), data, durable=False)

    @retried
    def read_payload(self, ref: PayloadRef) -> bytes:
        path = self._p("payloads", f"{ref.pack}.pack")
        with open(path, "rb") as f:
            data = os.pread(f.fileno(), ref.length, ref.offset)
        if len(data) != ref.length:
            raise JobStoreCorruptError(
                f"{path}: a job's payload is cut short ({len(data)} of {ref.length} bytes); "
                f"the job store cannot be resumed safely"
            )
        return data

    def delete_pack(self, name: str) -> None:
        unlink_quiet(self._p("payloads", f"{name}.pack"))

    @retried
    def write_return(self, node_id: str, data: bytes) -> None:
        # Written in place, not renamed: it is read only after the producer's completion is recorded,
        # and a producer that dies while writing it is run again and rewrites it. The header (length and
        # CRC-32) lets a reader tell a damaged value from a good one.
        fd = os.open(self._p("returns", node_id), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(frame_value(data))
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    @retried
    def read_return(self, node_id: str) -> bytes:
        path = self._p("returns", node_id)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise KeyError(node_id) from None
        data = unframe_value(raw)
        if data is not None:
            return data
        raise JobStoreCorruptError(
            f"{path}: the return value of job {node_id} is damaged ({len(raw)} bytes, "
            f"truncated or overwritten); the job store cannot be resumed safely"
        )

    @retried
    def write_result(self, token: str, data: bytes) -> None:
        # Not fsynced: the leader journals what it reads, and a lost result only means a re-run.
        atomic_write(self._p("results", token), data, durable=False)

    @retried
    def read_result(self, token: str) -> bytes | None:
        try:
            with open(self._p("results", token), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    @retried
    def delete_result(self, token: str) -> None:
        unlink_quiet(self._p("results", token))

    def result_log_path(self, name: str) -> str:
        """A per-worker append-only results log (see worker.AppendLogSink)."""
        return self._p("results", f"{name}.rlog")

    @retried
    def list_results(self) -> list[str]:
        return [n for n in os.listdir(os.path.join(self.path, "results")) if not n.startswith(".")]

    # -- messages (made on first use: stores from before them have no messages/)
    @retried
    def write_message(self, name: str, data: bytes) -> None:
        path = self._message_path(name)
        try:
            atomic_write(path, data, durable=False)  # a lost message is a lost job: re-issued
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            atomic_write(path, data, durable=False)

    @retried
    def read_message(self, name: str) -> bytes:
        try:
            with open(self._message_path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise KeyError(name) from None

    @retried
    def delete_message(self, name: str) -> None:
        unlink_quiet(self._message_path(name))

    def _message_path(self, name: str) -> str:
        if not _SAFE_NAME.match(name) or name.startswith("."):
            raise ValueError(f"bad message name {name!r}: use letters, digits, '.', '_', '-', '@', '+'")
        return self._p("messages", name)

    # -- flags
    @retried
    def set_flag(self, name: str) -> None:
        atomic_write(self._p("flags", name), b"", durable=False)

    @retried
    def has_flag(self, name: str) -> bool:
        return os.path.exists(self._p("flags", name))

    @retried
    def clear_flag(self, name: str) -> None:
        unlink_quiet(self._p("flags", name))

    # -- global files
    def _file_path(self, file_id: str) -> str:
        if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
            raise NoSuchFileException(str(file_id), "not a file ID of this job store")
        hexid = file_id.split("/", 1)[0]
        return os.path.join(self.path, "files", hexid[:2], hexid)

    def _new_file(self, basename: str | None) -> tuple[str, str]:
        hexid = uuid.uuid4().hex
        file_id = f"{hexid}/{_clean_basename(basename)}"
        d = os.path.join(self.path, "files", hexid[:2])
        os.makedirs(d, mode=0o700, exist_ok=True)
        return file_id, os.path.join(d, hexid)

    @retried
    def local_path(self, file_id: str) -> str:
        """The path of a global file in this job store (for linking)."""
        path = self._file_path(file_id)
        if not os.path.lexists(path):
            raise NoSuchFileException(file_id)
        return path

    @retried
    def write_file(self, local_path: str, basename: str | None = None) -> tuple[str, int, bool]:
        file_id, dest = self._new_file(basename or local_path)
        tmp = temp_name(dest)
        shutil.copyfile(local_path, tmp)
        executable = bool(os.stat(local_path).st_mode & 0o100)
        os.chmod(tmp, 0o700 if executable else 0o600)
        size = os.stat(tmp).st_size
        os.replace(tmp, dest)
        return file_id, size, executable

    @contextmanager
    def write_file_stream(self, basename: str | None = None) -> Iterator[tuple[IO[bytes], str]]:
        file_id, dest = self._new_file(basename)
        tmp = temp_name(dest)
        with open(tmp, "wb") as f:
            os.chmod(tmp, 0o600)
            try:
                yield f, file_id
                f.flush()
            except BaseException:
                f.close()
                unlink_quiet(tmp)
                raise
        os.replace(tmp, dest)

    def _source(self, file_id: str) -> str:
        """Where a global file's bytes are: its path here, or the file a linked import points to."""
        real = os.path.realpath(self.local_path(file_id))
        if not os.path.exists(real):
            raise NoSuchFileException(file_id, f"its source {real} is gone")
        return real

    @retried
    def read_file(self, file_id: str, local_path: str, link: str = "copy") -> None:
        real = self._source(file_id)
        if os.path.lexists(local_path):
            os.unlink(local_path)
        if link == "symlink":
            os.symlink(real, local_path)
            return
        if link == "hardlink":
            try:
                os.link(real, local_path)
                return
            except OSError:
                pass
        shutil.copyfile(real, local_path)  # a private copy, whatever the umask: 0600, or 0700 if executable
        os.chmod(local_path, 0o700 if os.stat(real).st_mode & 0o100 else 0o600)

    @contextmanager
    def read_file_stream(self, file_id: str) -> Iterator[IO[bytes]]:
        path = self.local_path(file_id)
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            self._source(file_id)  # a linked import whose source is gone: say so
            raise NoSuchFileException(file_id) from None
        with f:
            yield f

    @retried
    def delete_file(self, file_id: str) -> None:
        try:
            unlink_quiet(self._file_path(file_id))
        except NoSuchFileException:
            pass

    @retried
    def file_exists(self, file_id: str) -> bool:
        try:
            return os.path.exists(self._file_path(file_id))
        except NoSuchFileException:
            return False

    @retried
    def get_file_size(self, file_id: str) -> int:
        try:
            return os.stat(self._file_path(file_id)).st_size
        except FileNotFoundError:
            raise NoSuchFileException(file_id) from None

    @retried
    def file_is_executable(self, file_id: str) -> bool:
        return bool(os.stat(self._source(file_id)).st_mode & 0o100)

    def link_local_file(self, local_path: str) -> tuple[str, int, bool]:
        file_id, dest = self._new_file(local_path)
        os.symlink(os.path.abspath(local_path), dest)
        return file_id, os.path.getsize(local_path), bool(os.stat(local_path).st_mode & 0o100)

    # The base class's import and export (through the URL handlers), retried like every file system call here.
    @retried
    def import_file(
        self, src_uri: str, shared_file_name: str | None = None, symlink: bool = False
    ) -> tuple[str, int, bool] | None:
        return super().import_file(src_uri, shared_file_name, symlink)

    @retried
    def export_file(self, file_id: str, dst_uri: str) -> None:
        super().export_file(file_id, dst_uri)

    @retried
    def write_shared_file(self, name: str, data: bytes) -> None:
        atomic_write(self._p("shared", self._shared(name)), data, durable=False)

    def local_area(self, name: str) -> str | None:
        path = self._p("areas", name)
        os.makedirs(self._p("areas"), mode=0o700, exist_ok=True)  # makedirs makes parents with the umask's mode
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    @retried
    def read_shared_file(self, name: str) -> bytes:
        try:
            with open(self._p("shared", self._shared(name)), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NoSuchFileException(name, "no shared file of that name") from None

    @staticmethod
    def _shared(name: str) -> str:
        if not _SAFE_NAME.match(name):
            raise ToilUserError(f"bad shared file name {name!r}: use letters, digits, '.', '_', '-'")
        return name

    # -- logs and stats
    @retried
    def write_log(self, name: str, data: bytes) -> None:
        atomic_write(self._p("logs", name), data, durable=False)

    @retried
    def read_log(self, name: str) -> bytes | None:
        try:
            with open(self._p("logs", name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def append_stats(self, lines: list[bytes]) -> None:
        fd = os.open(self._p("stats", "stats.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, b"".join(lines))
        finally:
            os.close(fd)

    def read_stats(self) -> bytes | None:
        try:
            with open(self._p("stats", "stats.jsonl"), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    @retried
    def write_status(self, data: bytes) -> None:
        atomic_write(self._p(STATUS), data, durable=False)

    @retried
    def read_status(self) -> bytes | None:
        try:
            with open(self._p(STATUS), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _p(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)


def normalize_path(rest: str) -> str:
    """A file: locator's path made absolute (workers may run in another directory), within Linux's limits."""
    path = os.path.abspath(os.path.expanduser(rest))
    if len(path) >= MAX_PATH or path.count("/") > MAX_DEPTH:
        raise ToilUserError(
            f"the job store path is too long ({len(path)} characters, {path.count('/')} "
            f"levels; at most {MAX_PATH - 1} and {MAX_DEPTH}): {path[:80]}..."
        )
    return path
