"""Worker kills: SIGKILL the processes of running jobs at seeded random moments; the run must still complete.

A kill must count as a failed attempt of the job it hit, and of no other job.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.common import Run


@dataclass
class WorkerKillReport:
    runs: int = 0
    completions: int = 0
    identical: int = 0
    kills: int = 0  # SIGKILLs delivered to a running job's process
    failures_recorded: int = 0  # failed attempts in the journal
    collateral: int = 0  # failed attempts of jobs no kill hit (target 0)
    problems: list[str] = field(default_factory=list)


def _running(run: Run) -> dict[int, str]:
    """pid -> the job it is running now (the last job each live process marked)."""
    latest: dict[int, str] = {}
    for _, node, pid in run.marks():
        latest[pid] = node
    alive = {}
    for pid, node in latest.items():
        try:
            os.kill(pid, 0)
            alive[pid] = node
        except ProcessLookupError:
            pass
    return alive


def _failed_attempts(stderr: str) -> list[str]:
    """Ids of the failed attempts the leader reported (the journal's records are compacted at the end)."""
    return re.findall(r"^.*Job '[^']*' (\S+) failed: ", stderr, flags=re.M)


def one_run(run: Run, rng: random.Random, kills: int, expected: str, report: WorkerKillReport) -> None:
    report.runs += 1
    p = run.start()
    hit: set[str] = set()
    while p.poll() is None and len(hit) < kills:
        time.sleep(rng.uniform(0.05, 0.4))
        candidates = {pid: node for pid, node in _running(run).items() if node not in hit}
        if not candidates:
            continue
        pid = rng.choice(sorted(candidates))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        hit.add(candidates[pid])
        report.kills += 1
    out, err = p.communicate(timeout=600)
    if p.returncode != 0:
        report.problems.append(f"{run.root.name}: failed ({p.returncode}): {err.strip()[-300:]}")
        return
    report.completions += 1
    if run.output.read_text() == expected:
        report.identical += 1
    else:
        report.problems.append(f"{run.root.name}: the output differs from the undisturbed run's")
    failed = _failed_attempts(err)
    report.failures_recorded += len(failed)
    stray = [n for n in failed if n not in hit]
    # A process may have finished the job it last marked and started its next one, not yet marked, when the kill
    # came: that kill fails the unmarked job (SIGKILL) and leaves the marked one unfailed. Such a pair is the
    # kill's own doing; any other failure of a job no kill hit is collateral.
    landed_elsewhere = len([n for n in hit if n not in failed])
    sigkilled = [n for n in stray if re.search(rf" {re.escape(n)} failed: killed by signal SIGKILL", err)]
    excused = min(len(sigkilled), landed_elsewhere) if len(sigkilled) == len(stray) else 0
    stray = stray[excused:]
    report.collateral += len(stray)
    if stray:
        lines = [line for line in err.splitlines() if any(f" {n} failed: " in line for n in stray)]
        report.problems.append(f"{run.root.name}: failures recorded for jobs no kill hit: {lines[:3]}")


def worker_kills(workdir: Path, runs: int, kills_per_run: int, seed: int, expected: str) -> WorkerKillReport:
    rng = random.Random(seed)
    report = WorkerKillReport()
    for i in range(runs):
        one_run(
            Run(workdir / f"worker-kill-{i:02d}", delay=0.2, extra=["--retryCount", "3"]),
            rng,
            kills_per_run,
            expected,
            report,
        )
    return report
