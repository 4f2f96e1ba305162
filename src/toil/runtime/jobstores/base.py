"""The job store interface: everything a workflow persists.

A job store holds the workflow's configuration, the leader's journal, the
pickled payloads of jobs, the return values that promises read, workers'
results, service flags and the global files that jobs share. Leader,
workers and the ``toil`` utility all go through this interface; ``file:`` is
the embedded implementation, ``aws:`` (S3) comes with the cloud issues.
"""

from __future__ import annotations

import abc
import time
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Iterator

from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreLockedError, ToilUserError
from toil.runtime.jobstores.journal import Journal
from toil.runtime.jobstores.urls import url_handler

if TYPE_CHECKING:
    from toil.runtime.config import Config


class NoSuchFileException(Exception):
    """A global file ID that the job store does not hold."""

    def __init__(self, file_id: str, detail: str = "") -> None:
        super().__init__(f"no file {file_id!r} in the job store" + (f" ({detail})" if detail else ""))
        self.file_id = file_id


class JobStore(abc.ABC):
    """What the runtime needs from persistent storage."""

    locator: str
    # The workflow's options once a leader or worker opened the workflow (Toil's AbstractJobStore.config, which
    # user code reads through fileStore.jobStore.config).
    config: "Config | None" = None

    # -- lifecycle
    @abc.abstractmethod
    def exists(self) -> bool: ...

    @abc.abstractmethod
    def create(self, meta: dict[str, Any]) -> None:
        """Create an empty job store holding ``meta``; JobStoreExistsException if there is one."""

    @abc.abstractmethod
    def read_meta(self) -> dict[str, Any]:
        """The metadata written at creation (config, workflow id); NoSuchJobStoreException if absent."""

    @abc.abstractmethod
    def write_meta(self, meta: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def destroy(self) -> None:
        """Delete the job store and everything in it."""

    # -- the leader lease and the workers lock
    @abc.abstractmethod
    def lock_leader(self) -> None:
        """Become the only leader of this job store, or raise JobStoreLockedError naming the other leader.

        The lease is held until ``unlock_leader`` or the death of this process;
        while it is held, every other ``lock_leader`` on the store (from any
        handle, process or host that shares it) is refused. It also records
        who holds it, for ``leader_info``.
        """

    @abc.abstractmethod
    def unlock_leader(self) -> None:
        """Give up the lease this handle holds (nothing if it holds none) and forget who held it."""

    @abc.abstractmethod
    def leader_info(self) -> dict[str, Any]:
        """Who holds the leader lease ({"pid", "host", "started"}), or {} when no leader runs (or is known).

        The record may outlive a leader killed with SIGKILL: ``leader_lease_held``
        tells whether the lease itself is still held.
        """

    @abc.abstractmethod
    def leader_lease_held(self) -> bool:
        """Whether some process holds the leader lease now (False once its holder died, when the store can tell)."""

    def leader_lease_fds(self) -> list[int]:
        """This process's descriptors that hold the lease: processes forked from the leader close them, so the
        lease ends when the leader dies, not when its last job does. [] when none (or no lease is held)."""
        return []

    def workers_lock_path(self) -> str | None:
        """A local file every job process of the workflow holds a shared flock on while it lives, or None.

        The batch system takes the lock in the process that forks the jobs;
        ``workers_running`` asks whether any of them still holds it. None: this
        store keeps no such lock, and leaders do not wait for earlier jobs.
        """
        return None

    def workers_running(self) -> bool:
        """Whether some job process (of this leader or a dead one) still holds the workers lock."""
        return False

    def wait_for_workers(self, timeout: float, poll: float = 0.05) -> bool:
        """Wait until no job process holds the workers lock; False if some still do after ``timeout`` seconds."""
        deadline = time.time() + timeout
        while self.workers_running():
            if time.time() > deadline:
                return False
            time.sleep(poll)
        return True

    def locked_error(self, who: dict[str, Any]) -> JobStoreLockedError:
        """The error a refused ``lock_leader`` raises, naming the leader ``who`` (its leader_info)."""
        detail = f" (pid {who.get('pid')} on {who.get('host')})" if who else ""
        return JobStoreLockedError(
            f"another leader{detail} is running on the job store {self.locator}; wait for "
            f"it to finish or stop it with 'toil kill {self.locator}'"
        )

    # -- the journal
    @abc.abstractmethod
    def journal(self) -> Journal:
        """This store's journal (one object per handle: the leader appends to it, observers load it)."""

    # -- job payloads, return values, results
    @abc.abstractmethod
    def write_pack(self, name: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_payload(self, ref: PayloadRef) -> bytes: ...

    @abc.abstractmethod
    def write_return(self, node_id: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_return(self, node_id: str) -> bytes:
        """A node's pickled return value; KeyError if it has none (yet)."""

    def read_returns(self, node_ids: list[str]) -> dict[str, bytes]:
        """Several nodes' return values at once (those that have none are left out)."""
        found = {}
        for node_id in node_ids:
            try:
                found[node_id] = self.read_return(node_id)
            except KeyError:
                pass
        return found

    @abc.abstractmethod
    def write_result(self, token: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_result(self, token: str) -> bytes | None: ...

    @abc.abstractmethod
    def delete_result(self, token: str) -> None: ...

    @abc.abstractmethod
    def list_results(self) -> list[str]: ...

    def result_log_path(self, name: str) -> str | None:
        """A local file a warm worker on this machine may append its results to (WorkerResult or ResultProgress
        lines), read back as result ``NAME.rlog``; None if the store keeps no local files (results are then
        written whole with write_result)."""
        return None

    # -- messages: small named blobs a leader and the workers of a remote batch system exchange (a job's worker
    #    message, a pack's job list, progress and cancellations), each replaced whole
    @abc.abstractmethod
    def write_message(self, name: str, data: bytes) -> None:
        """Store or replace the message ``name`` (letters, digits, '.', '_', '-', '@', '+'; else ValueError);
        readers see the old content or the new, never a mix."""

    @abc.abstractmethod
    def read_message(self, name: str) -> bytes:
        """The message ``name``; KeyError if there is none."""

    @abc.abstractmethod
    def delete_message(self, name: str) -> None:
        """Delete the message ``name``; nothing if there is none."""

    # -- flags (service start/stop)
    @abc.abstractmethod
    def set_flag(self, name: str) -> None: ...

    @abc.abstractmethod
    def has_flag(self, name: str) -> bool: ...

    @abc.abstractmethod
    def clear_flag(self, name: str) -> None: ...

    # -- global files
    @abc.abstractmethod
    def write_file(self, local_path: str, basename: str | None = None) -> tuple[str, int, bool]:
        """Copy a local file in; return (file id, size, executable)."""

    @abc.abstractmethod
    @contextmanager
    def write_file_stream(self, basename: str | None = None) -> Iterator[tuple[IO[bytes], str]]: ...

    @abc.abstractmethod
    def read_file(self, file_id: str, local_path: str, link: str = "copy") -> None:
        """Make the file available at local_path: link is 'copy', 'hardlink' or 'symlink' (falls back to copy)."""

    @abc.abstractmethod
    @contextmanager
    def read_file_stream(self, file_id: str) -> Iterator[IO[bytes]]: ...

    @abc.abstractmethod
    def delete_file(self, file_id: str) -> None: ...

    @abc.abstractmethod
    def file_exists(self, file_id: str) -> bool: ...

    @abc.abstractmethod
    def get_file_size(self, file_id: str) -> int:
        """The size of a global file in bytes; NoSuchFileException if the store does not hold it."""

    @abc.abstractmethod
    def file_is_executable(self, file_id: str) -> bool:
        """Whether the file was executable when written; NoSuchFileException if the store does not hold it."""

    def link_local_file(self, local_path: str) -> tuple[str, int, bool] | None:
        """Hold a link to a file on this machine instead of a copy, as (file id, size, executable); None: cannot.

        The linked file is read in place until it is deleted, so it must stay.
        """
        return None

    def import_file(
        self, src_uri: str, shared_file_name: str | None = None, symlink: bool = False
    ) -> tuple[str, int, bool] | None:
        """Copy what a path or URL names in, as (file id, size, executable); or, given a shared file name, as
        that shared file (returning None). ``symlink``: link a local file rather than copy it, if the store can."""
        handler = url_handler(src_uri)
        if shared_file_name is not None:
            self.write_shared_file(shared_file_name, handler.read_bytes(src_uri))
            return None
        local = handler.local_path(src_uri)
        if local is not None:
            if not handler.exists(src_uri):
                raise ToilUserError(f"cannot import {src_uri}: no such file")
            linked = self.link_local_file(local) if symlink else None
            return linked or self.write_file(local, basename=local)
        with self.write_file_stream(basename=handler.basename(src_uri)) as (f, file_id):
            size = handler.copy_to(src_uri, f)
        return file_id, size, False

    def export_file(self, file_id: str, dst_uri: str) -> None:
        """Write a global file to a path or URL, replacing what is there; NoSuchFileException if it is not held."""
        handler = url_handler(dst_uri)
        handler.check_writable(dst_uri)
        executable = self.file_is_executable(file_id)
        with self.read_file_stream(file_id) as f:
            handler.write(dst_uri, f, executable)

    @abc.abstractmethod
    def local_area(self, name: str) -> str | None:
        """A directory inside the job store where workers may keep a front end's files; None if not local.

        Document front ends keep step outputs there so the next step reads
        them in place; it is deleted with the job store.
        """
        return None

    @abc.abstractmethod
    def write_shared_file(self, name: str, data: bytes) -> None:
        """Replace the shared file ``name`` (letters, digits, '.', '_', '-', '@', '+'; else ToilUserError)."""

    @abc.abstractmethod
    def read_shared_file(self, name: str) -> bytes:
        """A shared file's content; NoSuchFileException if there is none of that name."""

    # -- logs and stats
    @abc.abstractmethod
    def write_log(self, name: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_log(self, name: str) -> bytes | None: ...

    @abc.abstractmethod
    def append_stats(self, lines: list[bytes]) -> None: ...

    @abc.abstractmethod
    def read_stats(self) -> bytes | None:
        """The stats log (JSON lines) or None if --stats recorded nothing."""

    @abc.abstractmethod
    def write_status(self, data: bytes) -> None:
        """Replace the leader's live status (see runtime/observe/status.py); not durable, rewritten often."""

    @abc.abstractmethod
    def read_status(self) -> bytes | None: ...
