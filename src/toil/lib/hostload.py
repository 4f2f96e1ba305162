"""This machine's CPU and RAM in use, measured (for the dashboard's node series on the local batch system).

Linux: CPU from the busy share of /proc/stat between two readings, RAM as MemTotal - MemAvailable of
/proc/meminfo. Elsewhere: the 1-minute load average for CPU and no RAM figure.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC_STAT = Path("/proc/stat")
PROC_MEMINFO = Path("/proc/meminfo")


def _cpu_times(stat: Path) -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, or None where /proc/stat cannot be read."""
    try:
        first = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values)
    return total - idle, total


def memory_in_use(meminfo: Path = PROC_MEMINFO) -> int | None:
    """Bytes of RAM in use (MemTotal - MemAvailable), or None where /proc/meminfo cannot be read."""
    fields: dict[str, int] = {}
    try:
        for line in meminfo.read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[key] = int(parts[0]) * 1024  # the file counts kB
    except OSError:
        return None
    if "MemTotal" not in fields or "MemAvailable" not in fields:
        return None
    return fields["MemTotal"] - fields["MemAvailable"]


class HostLoad:
    """Cores busy on this machine since the previous reading (the load average before the first)."""

    def __init__(self, stat: Path = PROC_STAT, cpus: int | None = None) -> None:
        self.stat = stat
        self.cpus = cpus or os.cpu_count() or 1
        self._last = _cpu_times(stat)

    def cores_busy(self) -> float | None:
        now = _cpu_times(self.stat)
        last, self._last = self._last, now
        if now is not None and last is not None and now[1] > last[1]:
            return self.cpus * (now[0] - last[0]) / (now[1] - last[1])
        try:
            return min(float(self.cpus), os.getloadavg()[0])
        except OSError:
            return None
