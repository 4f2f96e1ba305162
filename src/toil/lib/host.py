"""Facts about this machine that the scheduler, the front ends and Toil's helpers share."""

from __future__ import annotations

import os
import shutil


def cpu_count() -> int:
    """The cores this process may run on (its CPU affinity), as the scheduler counts them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def physical_memory() -> int:
    """This machine's memory in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 34


def physical_disk(directory: str) -> int:
    """Bytes free for this user in the file system holding ``directory``."""
    stats = os.statvfs(directory)
    return stats.f_frsize * stats.f_bavail


def which(cmd: str, mode: int = os.F_OK | os.X_OK, path: str | None = None) -> str | None:
    """The path of an executable named ``cmd`` on PATH (or ``path``), or None."""
    return shutil.which(cmd, mode=mode, path=path)


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with this id exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
