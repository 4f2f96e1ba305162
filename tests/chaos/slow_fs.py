"""Slow and failing file system calls, injected under the job store interface (TOIL_TEST_FS_FAULTS): each
failed call is retried with backoff and reported, and the run completes with the undisturbed output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.common import Run


@dataclass
class SlowFsReport:
    runs: int = 0
    completions: int = 0
    identical: int = 0
    leader_retries: int = 0  # reported by the leader at the end of the run
    job_retries: int = 0  # reported by jobs, as messages to the leader
    problems: list[str] = field(default_factory=list)


def _reported(stderr: str, prefix: str) -> int:
    return sum(int(n) for n in re.findall(prefix + r"(\d+) job store call\(s\) retried", stderr))


def slow_fs(workdir: Path, runs: int, seed: int, expected: str, fail: float = 0.05, slow: float = 0.05) -> SlowFsReport:
    report = SlowFsReport()
    for i in range(runs):
        run = Run(
            workdir / f"slow-fs-{i:02d}",
            delay=0.02,
            env={
                "TOIL_TEST_FS_FAULTS": f"fail={fail},slow={slow},delay=0.05,seed={seed + i}",
                "TOIL_JOBSTORE_RETRY_SECONDS": "0.02",
            },
        )
        report.runs += 1
        p = run.finish(restart=False)
        if p.returncode != 0:
            report.problems.append(f"{run.root.name}: failed ({p.returncode}): {p.stderr.strip()[-300:]}")
            continue
        report.completions += 1
        report.identical += run.output.read_text() == expected
        report.leader_retries += _reported(p.stderr, r"Leader: ")
        report.job_retries += _reported(p.stderr, r"Got message from job at time [^:]+:\d\d:\d\d: ")
    if report.completions and not report.leader_retries + report.job_retries:
        report.problems.append("no retry was reported: the injection did not take effect")
    return report
