"""Disk full: the job store and work directory on a small tmpfs that fills mid-run; after space is freed,
--restart completes the run."""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.common import Run, one_line_error, ran_again, recorded_done


@dataclass
class DiskFullReport:
    runs: int = 0
    failed_clearly: int = 0  # one line naming the job store and --restart
    completed_after_freeing: int = 0
    identical: int = 0
    reruns: int = 0
    problems: list[str] = field(default_factory=list)


class SmallDisk:
    """A tmpfs mounted for the run (needs root)."""

    def __init__(self, path: Path, size_kib: int) -> None:
        self.path, self.size_kib = path, size_kib

    def __enter__(self) -> "SmallDisk":
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_kib}k,mode=0700", "tmpfs", str(self.path)],
            check=True,
            capture_output=True,
        )
        return self

    def grow(self, size_kib: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size_kib}k", str(self.path)], check=True, capture_output=True)

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def one_run(root: Path, size_kib: int, expected: str, report: DiskFullReport) -> None:
    report.runs += 1
    with SmallDisk(root / "disk", size_kib) as disk:
        (disk.path / "work").mkdir()
        run = Run(root, extra=["--workDir", str(disk.path / "work"), "--retryCount", "0"], job_store=disk.path / "js")
        p = run.finish(restart=False)
        line = one_line_error(p.stderr)
        if p.returncode != 0 and line and "No space left on device" in line and "--restart" in line:
            report.failed_clearly += 1
        else:
            report.problems.append(
                f"{root.name}: the full disk was not reported in one line (exit "
                f"{p.returncode}): {p.stderr.strip()[-300:]}"
            )
        counts = run.counts()
        done = recorded_done(run.js, set(counts))
        disk.grow(64 * 1024)
        again = run.finish(restart=True)
        if again.returncode != 0:
            report.problems.append(f"{root.name}: --restart after freeing space failed: {again.stderr[-300:]}")
            return
        report.completed_after_freeing += 1
        if run.output.read_text() == expected:
            report.identical += 1
        final = run.counts()
        report.reruns += len(ran_again(done, counts, final))


def disk_full(workdir: Path, runs: int, seed: int, expected: str) -> DiskFullReport:
    rng = random.Random(seed)
    report = DiskFullReport()
    for i in range(runs):
        # smaller than the run needs (small return values travel in the journal, not one file each)
        one_run(workdir / f"disk-full-{i:02d}", rng.randrange(300, 600), expected, report)
    return report
