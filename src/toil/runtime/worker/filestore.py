"""The file store a job's run() receives: global files, local temporary files, messages to the leader.

Method names are Toil's (``writeGlobalFile``, ``readGlobalFile`` ...). Files
live in the job store; a job reads them through hard links or symbolic links
where it may (immutable reads on the same file system), copies otherwise.
Deleting a global file takes effect once the job's run is recorded, so a
re-run of the job still finds it.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import stat
import tempfile
import uuid
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Iterator, Optional, Union

from toil.exceptions import JobStoreCorruptError
from toil.runtime.jobstores.base import JobStore, NoSuchFileException

if TYPE_CHECKING:
    from toil.runtime.config import Config

log = logging.getLogger("toil.fileStore")


class FileID(str):
    """A global file's ID: a str that also carries the file's size (and whether it is executable)."""

    def __new__(cls, fileStoreID: str, *args: Any, **kwargs: Any) -> "FileID":
        return super().__new__(cls, fileStoreID)

    def __init__(self, fileStoreID: str, size: int, executable: bool = False) -> None:
        super().__init__()
        self.size = size
        self.executable = executable

    def __reduce__(self) -> tuple[Any, ...]:
        return (FileID, (str(self), self.size, self.executable))

    def pack(self) -> str:
        return f"{self.size}:{int(self.executable)}:{self}"

    @classmethod
    def unpack(cls, packed: str) -> "FileID":
        size, executable, value = packed.split(":", 2)
        return cls(value, int(size), bool(int(executable)))

    @classmethod
    def forPath(cls, fileStoreID: str, filePath: str) -> "FileID":
        st = os.stat(filePath)
        return cls(fileStoreID, st.st_size, bool(st.st_mode & stat.S_IXUSR))


class _CountingWriter(io.RawIOBase):
    """Counts bytes written through it into a FileID's size."""

    def __init__(self, backing: IO[bytes], file_id: FileID) -> None:
        self._backing, self._file_id = backing, file_id

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = self._backing.write(data)
        self._file_id.size += n
        return n


class AbstractFileStore:
    """Toil's file store interface, implemented on a job store."""

    def __init__(
        self,
        job_store: JobStore,
        config: "Config",
        job_id: str,
        job_name: str,
        local_dir: str,
        messages: list[tuple[int, str]] | None = None,
    ) -> None:
        self.jobStore = job_store
        self.config = config
        self.jobID = job_id
        self.jobName = job_name
        self.localTempDir = local_dir
        self.messages: list[tuple[int, str]] = messages if messages is not None else []
        self.written: list[str] = []  # global files this attempt created (deleted if it fails)
        self.cleanup: list[str] = []  # cleanup=True files: deleted when the job's subtree is done
        self.deleted: list[str] = []  # deleteGlobalFile requests, applied once the run is recorded
        self._local: dict[str, list[str]] = {}
        self._link_reads = bool(config.symlink_job_store_reads)

    # -- local temporary files
    def getLocalTempDir(self) -> str:
        return os.path.abspath(tempfile.mkdtemp(dir=self.localTempDir))

    def getLocalTempFile(self, suffix: Optional[str] = None, prefix: Optional[str] = None) -> str:
        fd, path = tempfile.mkstemp(suffix=suffix or ".tmp", prefix=prefix or "tmp", dir=self.localTempDir)
        os.close(fd)
        return os.path.abspath(path)

    def getLocalTempFileName(self, suffix: Optional[str] = None, prefix: Optional[str] = None) -> str:
        path = self.getLocalTempFile(suffix, prefix)
        os.remove(path)
        return path

    # -- writing
    def writeGlobalFile(self, localFileName: str, cleanup: bool = False, executable: bool = False) -> FileID:
        """Copy a local file into the job store; return its ID."""
        path = os.path.abspath(localFileName)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"writeGlobalFile: no such file {path}")
        file_id, size, is_exec = self.jobStore.write_file(path, basename=os.path.basename(path))
        self._note_written(file_id, cleanup)
        if path.startswith(os.path.abspath(self.localTempDir) + os.sep):
            self._local.setdefault(file_id, []).append(path)
        return FileID(file_id, size, is_exec or executable)

    @contextmanager
    def writeGlobalFileStream(
        self,
        cleanup: bool = False,
        basename: Optional[str] = None,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
    ) -> Iterator[tuple[IO[Any], FileID]]:
        """Yield (writable stream, FileID); the file exists once the block ends."""
        with self.jobStore.write_file_stream(basename=basename) as (backing, file_id):
            fid = FileID(file_id, 0)
            counting = io.BufferedWriter(_CountingWriter(backing, fid))
            stream: IO[Any] = counting
            if encoding is not None:
                stream = io.TextIOWrapper(counting, encoding=encoding, errors=errors or "strict")
            try:
                yield stream, fid
            finally:
                stream.flush()
                counting.flush()
        self._note_written(file_id, cleanup)

    def getEmptyFileStoreID(
        self, jobStoreID: Any = None, cleanup: bool = False, basename: Optional[str] = None
    ) -> FileID:
        with self.writeGlobalFileStream(cleanup=cleanup, basename=basename) as (_, fid):
            pass
        return fid

    def _note_written(self, file_id: str, cleanup: bool) -> None:
        self.written.append(file_id)
        if cleanup:
            self.cleanup.append(file_id)

    # -- reading
    def readGlobalFile(
        self,
        fileStoreID: Union[str, FileID],
        userPath: Optional[str] = None,
        cache: bool = True,
        mutable: bool = False,
        symlink: bool = False,
    ) -> str:
        """Make a global file available locally and return its path.

        Immutable reads are linked where possible: mutable=False gives a hard
        link, symlink=True allows a symbolic link; mutable=True always copies.
        """
        if userPath is not None:
            dest = os.path.abspath(userPath)
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        else:
            base = str(fileStoreID).split("/", 1)[-1] or "file"
            dest = os.path.join(self.localTempDir, f"read-{uuid.uuid4().hex[:8]}", base)
            os.makedirs(os.path.dirname(dest), mode=0o700)
        if mutable:
            link = "copy"
        elif symlink and self._link_reads:
            link = "symlink"
        else:
            link = "hardlink" if self._link_reads else "copy"
        self.jobStore.read_file(str(fileStoreID), dest, link=link)
        _check_size(fileStoreID, os.path.getsize(dest))
        self._local.setdefault(str(fileStoreID), []).append(dest)
        return dest

    @contextmanager
    def readGlobalFileStream(
        self, fileStoreID: Union[str, FileID], encoding: Optional[str] = None, errors: Optional[str] = None
    ) -> Iterator[IO[Any]]:
        with self.jobStore.read_file_stream(str(fileStoreID)) as f:
            try:  # a local file: its size tells a damaged one; a remote stream was checked by the service
                _check_size(fileStoreID, os.fstat(f.fileno()).st_size)
            except (AttributeError, OSError, io.UnsupportedOperation):
                pass
            if encoding is None:
                yield f
            else:
                yield io.TextIOWrapper(f, encoding=encoding, errors=errors or "strict")

    def getGlobalFileSize(self, fileStoreID: Union[str, FileID]) -> int:
        size = getattr(fileStoreID, "size", None)
        return int(size) if size is not None else self.jobStore.get_file_size(str(fileStoreID))

    # -- deleting
    def deleteLocalFile(self, fileStoreID: Union[str, FileID]) -> None:
        paths = self._local.pop(str(fileStoreID), None)
        if not paths:
            raise OSError(2, f"no local copies of {fileStoreID} to delete")
        for path in paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def deleteGlobalFile(self, fileStoreID: Union[str, FileID]) -> None:
        """Delete a global file once this job's run is recorded (its local copies now)."""
        if not self.jobStore.file_exists(str(fileStoreID)):
            raise NoSuchFileException(str(fileStoreID))
        self._local.pop(str(fileStoreID), None)
        self.deleted.append(str(fileStoreID))

    # -- import and export from inside a job
    def import_file(self, src_uri: str, shared_file_name: Optional[str] = None) -> Optional[FileID]:
        result = self.jobStore.import_file(src_uri, shared_file_name=shared_file_name)
        if result is None:
            return None
        file_id, size, executable = result
        self._note_written(file_id, False)
        return FileID(file_id, size, executable)

    importFile = import_file

    def export_file(self, file_id: Union[str, FileID], dst_uri: str) -> None:
        self.jobStore.export_file(str(file_id), dst_uri)

    exportFile = export_file

    # -- messages to the leader
    def log_to_leader(self, text: str, level: int = logging.INFO) -> None:
        self.messages.append((int(level), str(text)))

    logToMaster = log_to_leader

    def log_user_stream(self, name: str, stream: IO[bytes]) -> None:
        self.log_to_leader(f"{name}: {stream.read().decode(errors='replace')}")

    # -- Toil internals some scripts call
    def startCommit(self, jobState: bool = False) -> None:
        pass

    def waitForCommit(self) -> bool:
        return True

    def shutdown_failed_attempt(self) -> None:
        """Delete the global files this attempt created: nothing recorded refers to them."""
        for file_id in self.written:
            self.jobStore.delete_file(file_id)
        self.written.clear()


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _check_size(file_id: Union[str, FileID], actual: int) -> None:
    """A global file whose size is not the one written is damaged: say so rather than compute on it."""
    expected = getattr(file_id, "size", None)
    if expected is not None and expected >= 0 and actual != expected:
        raise JobStoreCorruptError(
            f"the global file {file_id} in the job store is damaged: {actual} bytes where {expected} were written"
        )
