"""This machine's CPU and RAM in use, from /proc files (here fakes of them, and the real ones)."""

from __future__ import annotations

from pathlib import Path

from toil.lib.hostload import HostLoad, memory_in_use


def stat(path: Path, busy: int, idle: int) -> Path:
    # user nice system idle iowait irq softirq steal
    path.write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    return path


def test_cores_busy_is_the_busy_share_between_readings(tmp_path: Path) -> None:
    f = stat(tmp_path / "stat", busy=100, idle=100)
    load = HostLoad(f, cpus=4)
    stat(f, busy=250, idle=150)  # 150 of 200 jiffies busy: three quarters of four cores
    assert load.cores_busy() == 3.0
    stat(f, busy=250, idle=350)
    assert load.cores_busy() == 0.0


def test_without_proc_stat_the_load_average(tmp_path: Path) -> None:
    value = HostLoad(tmp_path / "missing", cpus=2).cores_busy()
    assert value is not None and 0 <= value <= 2


def test_memory_in_use_is_total_minus_available(tmp_path: Path) -> None:
    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n")
    assert memory_in_use(f) == 600 * 1024
    f.write_text("MemTotal:       1000 kB\n")
    assert memory_in_use(f) is None and memory_in_use(tmp_path / "missing") is None


def test_this_machine() -> None:
    used = memory_in_use()
    assert used is None or used > 0
    assert (HostLoad().cores_busy() or 0.0) >= 0
