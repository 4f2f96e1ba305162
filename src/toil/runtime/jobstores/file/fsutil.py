"""Crash-safe file writing: write a temporary file, fsync it, rename it into place."""

from __future__ import annotations

import fcntl
import os
import stat
import uuid
from contextlib import contextmanager
from typing import Iterator


def fsync_dir(path: str) -> None:
    """Make a directory's entries (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(path: str) -> str:
    d, base = os.path.split(path)
    return os.path.join(d, f".{base}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(path: str, data: bytes, durable: bool = True, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so readers see the old or new content, never a mix."""
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if durable:
            os.fdatasync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quiet(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def current_umask() -> int:
    """This process's umask, read without changing it (os.umask can only set it, racing other threads)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def user_mode(executable: bool = False, directory: bool = False) -> int:
    """The mode a file the user asked for (an exported output) gets: what their umask gives a new file."""
    return (0o777 if executable or directory else 0o666) & ~current_umask()


@contextmanager
def private_files() -> Iterator[None]:
    """Files and directories made meanwhile (by this process and the commands it starts) are the user's alone.

    For the tools a CWL or WDL job runs: what they write lands in the job store and the work directory.
    The outputs are given the user's umask again when they are exported.
    """
    mask = os.umask(0o077)
    os.umask(mask | 0o077)
    try:
        yield
    finally:
        os.umask(mask)


def make_private(root: str) -> None:
    """Take group and other permissions off what a tool left under root (``cp -p``, ``tar x`` keep modes).

    Symbolic links and files with other hard links (perhaps the user's own files) are left alone.
    """

    def fix(path: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1):
            if st.st_mode & 0o077:
                os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)

    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(parent, name)
            try:
                fix(path, os.lstat(path))
            except OSError:
                pass


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def unlink_quiet(path: str) -> bool:
    """Remove a file; True if it was there."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def flock_taken(path: str, operation: int) -> bool:
    """Whether another open file holds a flock on path that ``operation`` would wait for (False: no file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # and with it the probe's own lock
