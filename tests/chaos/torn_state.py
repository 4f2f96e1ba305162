"""Torn state: damage the job store of a killed run, then --restart.

Each kind of damage must end in one of two ways: the run completes with the undisturbed run's output
(the leader recovered to the last consistent state), or it stops with one line naming what is damaged.
Anything else (a traceback, a wrong output, a silent success) is counted as wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.chaos.common import Run, kill_group, one_line_error, wait_for


@dataclass
class TornReport:
    cases: int = 0
    recovered: int = 0
    refused: int = 0  # stopped with one line naming the damaged file
    wrong: int = 0  # target 0
    rows: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # the refusals, as the user saw them
    problems: list[str] = field(default_factory=list)


def _journal(js: Path) -> Path:
    return sorted((js / "state").glob("journal-*.log"))[-1]


def _last_record_span(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    return data.rfind(b"\n", 0, end) + 1, end


def torn_tail(js: Path, rng: random.Random) -> Path:
    """Cut the journal inside its last record (a write torn by a crash)."""
    path = _journal(js)
    start, end = _last_record_span(path)
    with open(path, "r+b") as f:
        f.truncate(rng.randrange(start + 1, end))
    return path


def garbage_tail(js: Path, rng: random.Random) -> Path:
    path = _journal(js)
    with open(path, "ab") as f:
        f.write(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))).replace(b"\n", b" "))
    return path


def _flip(path: Path, lo: int, hi: int, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    i = rng.randrange(lo, hi)
    data[i] = (data[i] + 1 + rng.randrange(200)) % 256 or 1
    if data[i] == 10:
        data[i] = 11
    path.write_bytes(bytes(data))


def flipped_last_record(js: Path, rng: random.Random) -> Path:
    path = _journal(js)
    start, end = _last_record_span(path)
    _flip(path, start, end, rng)
    return path


def flipped_middle_record(js: Path, rng: random.Random) -> Path:
    path = _journal(js)
    data = path.read_bytes()
    cut = data.find(b"\n", len(data) // 3)
    _flip(path, cut + 1, data.find(b"\n", cut + 1), rng)
    return path


def _pick(directory: Path, rng: random.Random) -> Path:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))
    return rng.choice(files)


def truncated_return(js: Path, rng: random.Random) -> Path:
    path = _pick(js / "returns", rng)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    return path


def truncated_payload(js: Path, rng: random.Random) -> Path:
    path = _pick(js / "payloads", rng)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    return path


def truncated_global_file(js: Path, rng: random.Random) -> Path:
    path = _pick(js / "files", rng)
    with open(path, "r+b") as f:
        f.truncate(max(0, path.stat().st_size - 1 - rng.randrange(100)))
    return path


def partial_temp_files(js: Path, rng: random.Random) -> Path:
    """Half-written temporaries, as a crash mid-write leaves them."""
    for sub in ("files", "results", "payloads", "returns", "state"):
        (js / sub / f".leftover.{rng.randrange(1 << 30):08x}.tmp").write_bytes(b"half a wri")
    return js


def damaged_meta(js: Path, rng: random.Random) -> Path:
    path = js / "toil.json"
    path.write_bytes(path.read_bytes()[: rng.randrange(1, 20)])
    return path


def damaged_status(js: Path, rng: random.Random) -> Path:
    path = js / "status.json"
    path.write_bytes(b'{"counts": [')
    return path


# Each damage; whether the leader can recover from it (else it must refuse, naming the file); and the
# job store directory that must hold a file before the kill.
DAMAGES: list[tuple[str, Callable[[Path, random.Random], Path], bool, str]] = [
    ("journal: torn last record", torn_tail, True, "state"),
    ("journal: garbage after the last record", garbage_tail, True, "state"),
    ("journal: last record corrupted", flipped_last_record, True, "state"),
    ("journal: a middle record corrupted", flipped_middle_record, False, "state"),
    ("half-written temporary files", partial_temp_files, True, "state"),
    ("status file damaged", damaged_status, True, "state"),
    ("a return value truncated", truncated_return, False, "returns"),
    ("a job payload truncated", truncated_payload, False, "payloads"),
    ("a global file truncated", truncated_global_file, False, "files"),
    ("job store metadata damaged", damaged_meta, False, "state"),
]


def _has_file(directory: Path) -> bool:
    return directory.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in directory.rglob("*"))


def _killed_run(run: Run, rng: random.Random, needs: str) -> bool:
    """Start the workflow and SIGKILL its leader once a fair part of it ran."""
    p = run.start()
    target = rng.randrange(120, 420)
    wait_for(lambda: p.poll() is not None or (len(run.marks()) >= target and _has_file(run.js / needs)), timeout=120)
    if p.poll() is not None:
        return False
    kill_group(p)
    return True


def one_case(
    run: Run,
    name: str,
    damage: Callable[[Path, random.Random], Path],
    recoverable: bool,
    needs: str,
    rng: random.Random,
    expected: str,
    report: TornReport,
) -> None:
    report.cases += 1
    if not _killed_run(run, rng, needs):
        report.problems.append(f"{name}: the run finished before it could be killed")
        return
    damaged = damage(run.js, rng)
    p = run.finish(restart=True)
    error = one_line_error(p.stderr)
    if p.returncode == 0 and run.output.exists() and run.output.read_text() == expected:
        outcome = "recovered"
        report.recovered += 1
    elif p.returncode != 0 and error is not None and (damaged.name in error or str(damaged) in error):
        where = damaged.relative_to(run.js) if damaged != run.js else "the job store"
        outcome = f"refused, naming {where}"
        report.refused += 1
        report.messages.append(error.split(": error: ", 1)[-1])
    else:
        outcome = f"WRONG (exit {p.returncode}): {p.stderr.strip()[-300:]}"
        report.wrong += 1
        report.problems.append(f"{name}: {outcome}")
    if recoverable and outcome != "recovered":
        outcome += " (recoverable)"
    report.rows.append((name, outcome))


def torn_state(workdir: Path, seed: int, expected: str, rounds: int = 1) -> TornReport:
    rng = random.Random(seed)
    report = TornReport()
    for r in range(rounds):
        for i, (name, damage, recoverable, needs) in enumerate(DAMAGES):
            one_case(Run(workdir / f"torn-{r}-{i:02d}"), name, damage, recoverable, needs, rng, expected, report)
    return report
