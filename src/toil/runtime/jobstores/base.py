"""The job store interface: everything a workflow persists.

A job store holds the workflow's configuration, the leader's journal, the
pickled payloads of jobs, the return values that promises read, workers'
results, service flags and the global files that jobs share. Leader,
workers and the ``toil`` utility all go through this interface; ``file:`` is
the embedded implementation, ``aws:`` (S3) comes with the cloud issues.
"""
from __future__ import annotations

import abc
from contextlib import contextmanager
from typing import IO, Any, Iterator

from toil.compiler.ir import PayloadRef
from toil.runtime.jobstores.journal import Journal


class NoSuchFileException(Exception):
    """A global file ID that the job store does not hold."""

    def __init__(self, file_id: str, detail: str = "") -> None:
        super().__init__(f"no file {file_id!r} in the job store" + (f" ({detail})" if detail else ""))
        self.file_id = file_id


class JobStore(abc.ABC):
    """What the runtime needs from persistent storage."""

    locator: str

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

    @abc.abstractmethod
    def lock_leader(self) -> Any:
        """Become the only leader, or raise JobStoreLockedError naming the other leader."""

    def leader_info(self) -> dict[str, Any]:
        """Who holds the leader lock ({"pid", "host", "started"}), or {} when no leader runs (or is known)."""
        return {}

    @abc.abstractmethod
    def journal(self) -> Journal: ...

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

    @abc.abstractmethod
    def write_result(self, token: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_result(self, token: str) -> bytes | None: ...

    @abc.abstractmethod
    def delete_result(self, token: str) -> None: ...

    @abc.abstractmethod
    def list_results(self) -> list[str]: ...

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
    def get_file_size(self, file_id: str) -> int: ...

    @abc.abstractmethod
    def import_file(self, src_uri: str, shared_file_name: str | None = None,
                    symlink: bool = False) -> tuple[str, int, bool] | None: ...

    @abc.abstractmethod
    def export_file(self, file_id: str, dst_uri: str) -> None: ...

    @abc.abstractmethod
    def local_area(self, name: str) -> str | None:
        """A directory inside the job store where workers may keep a front end's files; None if not local.

        Document front ends keep step outputs there so the next step reads
        them in place; it is deleted with the job store.
        """
        return None

    def write_shared_file(self, name: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_shared_file(self, name: str) -> bytes: ...

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
        """Replace the leader's live status (see runtime/status.py); not durable, rewritten often."""

    @abc.abstractmethod
    def read_status(self) -> bytes | None: ...
