"""File helpers at Toil's ``toil.lib.io`` import path."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator, Optional

from toil.runtime.jobstores.file.fsutil import atomic_write, temp_name


def mkdtemp(suffix: Optional[str] = None, prefix: Optional[str] = None, dir: Optional[str] = None) -> str:
    """Make a new temporary directory and return its absolute path."""
    return os.path.abspath(tempfile.mkdtemp(suffix=suffix, prefix=prefix, dir=dir))


def robust_rmtree(path: str | bytes) -> None:
    """Delete a directory tree, tolerating parts that vanish meanwhile."""
    if isinstance(path, bytes):
        path = path.decode()
    if os.path.islink(path) or os.path.isfile(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    shutil.rmtree(path, ignore_errors=True)


def make_public_dir(in_directory: str, suggested_name: Optional[str] = None) -> str:
    path = os.path.join(in_directory, suggested_name) if suggested_name else tempfile.mkdtemp(dir=in_directory)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    return path


def atomic_copy(src_path: str, dest_path: str, executable: Optional[bool] = None) -> None:
    """Copy a file so readers of dest_path see the whole file or nothing."""
    tmp = temp_name(dest_path)
    shutil.copyfile(src_path, tmp)
    if executable or (executable is None and os.stat(src_path).st_mode & 0o111):
        os.chmod(tmp, 0o755)
    os.replace(tmp, dest_path)


@contextmanager
def AtomicFileCreate(final_path: str, keep: bool = False) -> Iterator[str]:
    """Yield a temporary path to write; it becomes final_path only if the block succeeds."""
    tmp = temp_name(final_path)
    try:
        yield tmp
        os.replace(tmp, final_path)
    finally:
        if os.path.exists(tmp) and not keep:
            os.unlink(tmp)


def write_atomically(path: str, data: bytes) -> None:
    atomic_write(path, data, durable=False)


def open_output(path: str) -> IO[str]:
    return open(path, "w", encoding="utf-8")
