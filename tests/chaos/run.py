"""`make chaos`: attack the runtime and print what survived, as a table.

    python -m tests.chaos.run                 # the whole suite: 100 leader kills, ...
    python -m tests.chaos.run --slice         # the smaller slice CI runs on every change

Exits non-zero when a target is missed. Needs root for the disk-full scenario (it mounts a tmpfs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from tests.chaos.common import reference
from tests.chaos.disk_full import disk_full
from tests.chaos.exclusion import exclusion
from tests.chaos.leader_kills import leader_kills
from tests.chaos.slow_fs import slow_fs
from tests.chaos.torn_state import torn_state
from tests.chaos.worker_kills import worker_kills

Row = tuple[str, str, Any, str, bool]  # scenario, measure, value, target, met


def _sizes(args: argparse.Namespace) -> dict[str, int]:
    if args.slice:
        return {"trials": args.trials or 8, "worker_runs": 1, "torn_rounds": 1, "exclusion": 1, "disk": 1, "slow": 1}
    return {"trials": args.trials or 100, "worker_runs": 3, "torn_rounds": 3, "exclusion": 3, "disk": 3, "slow": 3}


def _leader_rows(work: Path, n: dict[str, int], seed: int, duration: float, ref: str) -> tuple[list[Row], list[str]]:
    r = leader_kills(work, n["trials"], seed, duration, ref)
    mean = statistics.mean(r.restart_latency) if r.restart_latency else float("nan")
    t = r.trials
    rows: list[Row] = [
        ("leader kill -9", "kills / trials", f"{r.kills} / {t}", "", True),
        ("leader kill -9", "completions after --restart", f"{r.completions}/{t}", f"{t}/{t}", r.completions == t),
        ("leader kill -9", "outputs identical", f"{r.identical}/{t}", f"{t}/{t}", r.identical == t),
        ("leader kill -9", "finished jobs run again", r.reruns, "0", r.reruns == 0),
        ("leader kill -9", "lost files", r.lost_files, "0", r.lost_files == 0),
        ("leader kill -9", "killed before anything was recorded", r.fresh_starts, "", True),
        ("leader kill -9", "mean restart latency (to first job)", f"{mean:.2f} s", "", True),
    ]
    return rows, r.problems


def _worker_rows(work: Path, n: dict[str, int], seed: int, ref: str) -> tuple[list[Row], list[str]]:
    r = worker_kills(work, n["worker_runs"], 15, seed, ref)
    return [
        ("job process kill -9", "kills delivered", r.kills, "", True),
        (
            "job process kill -9",
            "completions",
            f"{r.completions}/{r.runs}",
            f"{r.runs}/{r.runs}",
            r.completions == r.runs,
        ),
        (
            "job process kill -9",
            "outputs identical",
            f"{r.identical}/{r.runs}",
            f"{r.runs}/{r.runs}",
            r.identical == r.runs,
        ),
        (
            "job process kill -9",
            "failed attempts recorded",
            r.failures_recorded,
            f"<= {r.kills}",
            r.failures_recorded <= r.kills,
        ),
        ("job process kill -9", "failures of jobs no kill hit", r.collateral, "0", r.collateral == 0),
    ], r.problems


def _torn_rows(work: Path, n: dict[str, int], seed: int, ref: str) -> tuple[list[Row], list[str]]:
    r = torn_state(work, seed, ref, n["torn_rounds"])
    rows: list[Row] = [
        ("torn state", name, _short(outcome), "recover or refuse", "WRONG" not in outcome)
        for name, outcome in r.rows[: len(r.rows) // n["torn_rounds"]]
    ]
    rows.append(
        (
            "torn state",
            "cases: recovered / refused / wrong",
            f"{r.recovered} / {r.refused} / {r.wrong}",
            "wrong 0",
            r.wrong == 0 and not r.problems,
        )
    )
    for message in r.messages[: len(r.messages) // n["torn_rounds"] or None]:
        print("chaos: torn state refused:", message[:240])
    return rows, r.problems


def _short(text: str, width: int = 64) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _exclusion_rows(work: Path, n: dict[str, int], seed: int, ref: str) -> tuple[list[Row], list[str]]:
    r = exclusion(work, n["exclusion"], seed, ref)
    return [
        (
            "two leaders",
            "second leader refused",
            f"{r.refused}/{r.second_leaders}",
            f"{r.second_leaders}/{r.second_leaders}",
            r.refused == r.second_leaders,
        ),
        (
            "two leaders",
            "first leader completed right",
            f"{r.first_completed}/{n['exclusion']}",
            f"{n['exclusion']}/{n['exclusion']}",
            r.first_completed == n["exclusion"],
        ),
        (
            "toil kill",
            "leader stopped (exit 130)",
            f"{r.stopped}/{r.kills}",
            f"{r.kills}/{r.kills}",
            r.stopped == r.kills,
        ),
        ("toil kill", "job processes left running", r.jobs_left_running, "0", r.jobs_left_running == 0),
        (
            "toil kill",
            "--restart completed, jobs run again",
            f"{r.restarts_completed}/{r.kills}, {r.reruns}",
            f"{r.kills}/{r.kills}, 0",
            r.restarts_completed == r.kills and r.reruns == 0,
        ),
    ], r.problems


def _disk_rows(work: Path, n: dict[str, int], seed: int, ref: str) -> tuple[list[Row], list[str]]:
    if os.geteuid() != 0:
        return [("disk full", "skipped: mounting a tmpfs needs root", "-", "", False)], []
    r = disk_full(work, n["disk"], seed, ref)
    return [
        (
            "disk full",
            "failed with one line",
            f"{r.failed_clearly}/{r.runs}",
            f"{r.runs}/{r.runs}",
            r.failed_clearly == r.runs,
        ),
        (
            "disk full",
            "--restart completed after freeing space",
            f"{r.completed_after_freeing}/{r.runs}",
            f"{r.runs}/{r.runs}",
            r.completed_after_freeing == r.runs,
        ),
        (
            "disk full",
            "outputs identical, jobs run again",
            f"{r.identical}/{r.runs}, {r.reruns}",
            f"{r.runs}/{r.runs}, 0",
            r.identical == r.runs and r.reruns == 0,
        ),
    ], r.problems


def _slow_rows(work: Path, n: dict[str, int], seed: int, ref: str) -> tuple[list[Row], list[str]]:
    r = slow_fs(work, n["slow"], seed, ref)
    return [
        (
            "slow/failing fs",
            "completions (5% EIO, 5% +50 ms)",
            f"{r.completions}/{r.runs}",
            f"{r.runs}/{r.runs}",
            r.completions == r.runs and r.identical == r.runs,
        ),
        (
            "slow/failing fs",
            "retries reported: leader / jobs",
            f"{r.leader_retries} / {r.job_retries}",
            "> 0",
            r.leader_retries + r.job_retries > 0,
        ),
    ], r.problems


def print_table(rows: list[Row]) -> None:
    widths = [max(len(str(r[i])) for r in rows + [("scenario", "measure", "value", "target", True)]) for i in range(4)]
    head = ("scenario", "measure", "value", "target")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  ok")
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths)) + ("  yes" if row[4] else "  NO"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.split("\n")[0])
    p.add_argument("--slice", action="store_true", help="the smaller slice CI runs")
    p.add_argument("--trials", type=int, default=0, help="leader-kill trials (default 100; slice 8)")
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--only", default="", help="comma-separated: leader,worker,torn,exclusion,disk,slow")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument(
        "--store",
        choices=["file", "aws"],
        default="file",
        help="job stores on the file system, or aws: on moto_server (leader and worker scenarios only)",
    )
    args = p.parse_args(argv)
    if args.store == "aws":
        from tests.chaos import common
        from tests.objectstores import s3_env

        os.environ.update(s3_env("moto"))
        common.STORE_KIND = "aws"
        args.only = args.only or "leader,worker"
        if set(args.only.split(",")) - {"leader", "worker"}:
            p.error("--store aws runs the leader and worker scenarios (the others damage a file: store's files)")
    n = _sizes(args)
    work = Path(tempfile.mkdtemp(prefix="toil-chaos-"))
    started = time.monotonic()
    ref, duration = reference(work / "reference")
    print(f"chaos: undisturbed run of the ~500-job workflow: {duration:.1f} s; scratch in {work}", flush=True)
    parts: dict[str, Callable[[], Any]] = {
        "leader": lambda: _leader_rows(work, n, args.seed, duration, ref),
        "worker": lambda: _worker_rows(work, n, args.seed, ref),
        "torn": lambda: _torn_rows(work, n, args.seed, ref),
        "exclusion": lambda: _exclusion_rows(work, n, args.seed, ref),
        "disk": lambda: _disk_rows(work, n, args.seed, ref),
        "slow": lambda: _slow_rows(work, n, args.seed, ref),
    }
    wanted = [k for k in parts if not args.only or k in args.only.split(",")]
    rows: list[Row] = []
    problems: list[str] = []
    for key in wanted:
        t0 = time.monotonic()
        part_rows, part_problems = parts[key]()
        rows += part_rows
        problems += part_problems
        print(f"chaos: {key} done in {time.monotonic() - t0:.0f} s", flush=True)
    print()
    print_table(rows)
    print(f"\nchaos: {time.monotonic() - started:.0f} s in all")
    for problem in problems:
        print("problem:", problem)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r[4] for r in rows) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
