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


def process_start_ticks(pid: int) -> int | None:
    """When a process of this machine started, in clock ticks since boot (None: no such process, or unknown).

    With the pid it names one process for good: a pid taken again by a later process has a later start.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()  # the command name, in parentheses, may hold spaces
    try:
        return int(fields[19])  # field 22 of proc(5), counting from the state after the name
    except (IndexError, ValueError):
        return None


def pid_space() -> str:
    """This machine's boot id and this process's pid namespace: processes with the same one see each other's pids.

    (Containers on one machine share its boot id but not, as a rule, their pid namespace.)
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        import socket

        return socket.gethostname()
