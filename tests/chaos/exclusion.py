"""One leader per job store, and `toil kill` leaves no job running."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.common import Run, one_line_error, ran_again, recorded_done, wait_for


@dataclass
class ExclusionReport:
    second_leaders: int = 0
    refused: int = 0  # second leader refused with one line naming the first (target: all)
    first_completed: int = 0  # the first leader finished with the right output regardless
    kills: int = 0
    stopped: int = 0  # `toil kill` stopped the leader
    jobs_left_running: int = 0  # target 0
    restarts_completed: int = 0
    reruns: int = 0
    problems: list[str] = field(default_factory=list)


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.add(pid)
        except ProcessLookupError:
            pass
    return alive


def two_leaders(run: Run, rng: random.Random, expected: str, report: ExclusionReport) -> None:
    first = run.start()
    wait_for(lambda: len(run.marks()) >= rng.randrange(1, 300) or first.poll() is not None, timeout=60)
    for restart in (True, False):
        report.second_leaders += 1
        second = subprocess.run(run.args(restart), env=run.environ(), capture_output=True, text=True, timeout=120)
        line = one_line_error(second.stderr)
        # with --restart: "another leader (pid P) is running"; without: "the job store ... already exists"
        if (
            second.returncode != 0
            and line
            and (f"another leader (pid {first.pid}" in line or (not restart and "already exists" in line))
        ):
            report.refused += 1
        elif first.poll() is None:
            report.problems.append(f"{run.root.name}: a second leader was not refused: {second.stderr[-300:]}")
    first.communicate(timeout=300)
    if first.returncode == 0 and run.output.read_text() == expected:
        report.first_completed += 1
    else:
        report.problems.append(f"{run.root.name}: the first leader did not finish right ({first.returncode})")


def toil_kill(run: Run, rng: random.Random, expected: str, report: ExclusionReport) -> None:
    leader = run.start()
    wait_for(lambda: len(run.marks()) >= rng.randrange(5, 200) or leader.poll() is not None, timeout=60)
    report.kills += 1
    subprocess.run(
        [sys.executable, "-m", "toil.cli.toil_main", "kill", str(run.js)], capture_output=True, text=True, timeout=120
    )
    leader.communicate(timeout=120)
    if leader.returncode == 130:
        report.stopped += 1
    left = _alive({pid for _, _, pid in run.marks()} - {leader.pid})
    report.jobs_left_running += len(left)
    if left:
        report.problems.append(f"{run.root.name}: job processes still running after toil kill: {sorted(left)}")
    counts = run.counts()
    done = recorded_done(run.js, set(counts))
    p = run.finish()
    if p.returncode == 0 and run.output.read_text() == expected:
        report.restarts_completed += 1
    else:
        report.problems.append(f"{run.root.name}: --restart after toil kill failed: {p.stderr[-300:]}")
    final = run.counts()
    report.reruns += len(ran_again(done, counts, final))


def exclusion(workdir: Path, rounds: int, seed: int, expected: str) -> ExclusionReport:
    rng = random.Random(seed)
    report = ExclusionReport()
    for i in range(rounds):
        two_leaders(Run(workdir / f"two-leaders-{i:02d}"), rng, expected, report)
        toil_kill(Run(workdir / f"toil-kill-{i:02d}", delay=0.2), rng, expected, report)
    return report
