"""Leader kills: SIGKILL the leader at seeded random moments, then --restart until the workflow completes."""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.common import Run, has_workflow, kill_group, ran_again, recorded_done


@dataclass
class LeaderKillReport:
    trials: int = 0
    kills: int = 0
    completions: int = 0
    identical: int = 0
    reruns: int = 0  # jobs whose completion was recorded, run again after a kill
    lost_files: int = 0
    fresh_starts: int = 0  # kills before the workflow was recorded: started again without --restart
    restart_latency: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _kill_once(run: Run, restart: bool, moment: float, report: LeaderKillReport) -> tuple[set[str], dict[str, int]]:
    """Start (or restart) the leader, SIGKILL it after ``moment`` seconds; what was recorded done by then.

    A run that ends before its kill starts over from nothing with half the delay, so every trial has its kill.
    """
    while True:
        p = run.start(restart)
        try:
            p.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            kill_group(p)
            report.kills += 1
            break
        if restart:
            report.problems.append(f"{run.root.name}: the restarted run ended before the kill at {moment:.2f} s")
            break
        run.reset()
        moment /= 2
    counts = run.counts()
    return recorded_done(run.js, set(counts)), dict(counts)


def _restart_latency(run: Run, restart: bool) -> tuple[float | None, str, str, int]:
    """Run to completion; seconds from launch to the first job the restarted leader ran."""
    before = run.side.stat().st_size if run.side.exists() else 0
    t0 = time.monotonic()
    p = run.start(restart)
    first: float | None = None
    while p.poll() is None:
        if first is None and run.side.exists() and run.side.stat().st_size > before:
            first = time.monotonic() - t0
        time.sleep(0.005)
    out, err = p.communicate()
    return first, out, err, p.returncode or 0


def trial(run: Run, rng: random.Random, duration: float, kills: int, expected: str, report: LeaderKillReport) -> None:
    report.trials += 1
    recorded: list[tuple[set[str], dict[str, int]]] = []
    restart = False
    for _ in range(kills):
        recorded.append(_kill_once(run, restart, rng.uniform(0.05, 0.9 * duration), report))
        restart = has_workflow(run.js)
        if not restart:
            report.fresh_starts += 1
    latency, _, err, code = _restart_latency(run, restart)
    if code != 0:
        report.problems.append(f"{run.root.name}: the restart failed ({code}): {err.strip()[-300:]}")
        return
    report.completions += 1
    if latency is not None and restart:
        report.restart_latency.append(latency)
    if run.output.read_text() == expected:
        report.identical += 1
    else:
        report.problems.append(f"{run.root.name}: the output differs from the undisturbed run's")
    final = run.counts()
    for done, counts in recorded:
        again = ran_again(done, counts, final)
        report.reruns += len(again)
        if again:
            report.problems.append(f"{run.root.name}: recorded jobs ran again: {sorted(again)[:5]}")
    report.lost_files += len(run.lost())


def leader_kills(
    workdir: Path, trials: int, seed: int, duration: float, expected: str, kills_per_trial: int = 1
) -> LeaderKillReport:
    rng = random.Random(seed)
    report = LeaderKillReport()
    for i in range(trials):
        trial(Run(workdir / f"leader-kill-{i:03d}"), rng, duration, kills_per_trial, expected, report)
    return report
