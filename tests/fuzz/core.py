"""What a fuzz case is, what came of it, and how an outcome is judged."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable

# The last line of stderr when a command refuses its input: 'prog: error: message' (prog may be 'toil status').
ERROR_LINE = re.compile(r"^[\w.+-]+(?: [\w-]+)?: error: \S")
ABS_PATH = re.compile(r"(?:file://)?(/[^\s\"',;:\]\[{}()]*)")
# Commands a mutated document or input could name that must never run for real on this machine.
UNSAFE = re.compile(
    r"\b(rm|rmdir|dd|mkfs\S*|shutdown|reboot|halt|kill|pkill|killall|chmod|chown|mv|truncate|"
    r"shred|sudo|curl|wget|nc|ssh|scp|reboot|fdisk|mount|umount|crontab|tee)\b"
)


@dataclass
class Case:
    """One generated input: a command line and the files it refers to, relative to the case's directory."""

    kind: str
    entry: str  # cwl | wdl | toil | python
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # relative name -> absolute file (read-only seed)
    fixture: str | None = None  # a prepared job store copied to 'store' in the case's directory
    corrupt: list[tuple[str, str, int, bytes]] = field(default_factory=list)  # (file in store, op, offset, bytes)
    expect: str = "any"  # 'fail': certainly invalid, so a zero exit is wrong
    note: str = ""  # what was mutated, for whoever reproduces it
    real_ok: bool = True  # may run for real (a subprocess) when accepted

    def key(self) -> str:
        parts = [self.entry, "\0".join(self.argv), self.fixture or "", repr(self.corrupt)]
        parts += [f"{k}={v!r}" for k, v in sorted(self.files.items())]
        return "\n".join(parts)

    def asked_paths(self, case_dir: str) -> list[str]:
        """Paths the case names itself (absolute, or climbing out with '..'): writing there was asked for."""
        texts = list(self.argv) + [v.decode("utf-8", "replace") for v in self.files.values()]
        found: list[str] = []
        for t in texts:
            found.extend("/" + os.path.normpath(m.group(1)).lstrip("/") for m in ABS_PATH.finditer(t))
        for arg in self.argv:
            rest = arg.removeprefix("file://").removeprefix("file:")
            if rest.startswith("/") and "\x00" not in rest:  # the whole argument, spaces and all
                found.append("/" + os.path.normpath(rest).lstrip("/"))
            if ".." in rest and "\x00" not in rest:
                joined = os.path.normpath(os.path.join(case_dir, rest))
                found += [joined, os.path.realpath(joined)]
        return [p for p in found if p]

    def safe_to_run(self) -> bool:
        texts = list(self.argv) + [v.decode("utf-8", "replace") for v in self.files.values()]
        return self.real_ok and not any(UNSAFE.search(t) for t in texts)


@dataclass
class Outcome:
    code: int | None  # exit status; None: accepted, stopped where the workflow would start
    stdout: str
    stderr: str
    traceback: bool = False
    violations: list[str] = field(default_factory=list)
    ran: bool = False  # ran for real in a subprocess
    timed_out: bool = False
    seconds: float = 0.0


@dataclass
class Verdict:
    """How one outcome counts in the table, and what is wrong with it (empty: nothing)."""

    nonzero: bool
    one_line: bool
    traceback: bool
    zero: bool
    outside: bool
    problems: list[str]


def last_line(text: str) -> str:
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1] if lines else ""


def stray(violations: list[str], asked: list[str]) -> list[str]:
    """The refused writes and signals the case did not ask for (a path it named is fair game)."""
    out = []
    for v in violations:
        target = v.split(" ", 1)[1] if " " in v else v
        target = target.split(" signal ")[0]
        if not target.startswith("/") or not any(_related(target, a) for a in asked):
            out.append(v)
    return out


def _related(path: str, asked: str) -> bool:
    if path == asked or asked.startswith(path + "/"):
        return True
    head, name = os.path.split(asked)
    if os.path.dirname(path) == head and os.path.basename(path).lstrip(".").startswith(name):
        return True  # a temporary file written next to it, then renamed
    return asked != "" and asked.count("/") >= 2 and path.startswith(asked + "/")


# A Python traceback, or cwltool's report of an exception it did not expect (a crash, though in one line).
CRASH = re.compile(r"Traceback \(most recent call last\)|: error: Unhandled error")


# The log of a failed job, printed by the leader: the job's own output (a tool's traceback is the tool's).
JOB_LOG = re.compile(r"(?s)\n=========>\n.*?\n<=========")


def judge(case: Case, out: Outcome, case_dir: str) -> Verdict:
    problems = []
    tb = out.traceback or bool(CRASH.search(JOB_LOG.sub("", out.stderr)))
    if tb:
        problems.append("traceback")
    zero = out.code is None or out.code == 0
    one_line = False
    if not zero:
        one_line = bool(ERROR_LINE.match(last_line(out.stderr))) and not re.search(r"(?m)^usage: ", out.stderr)
        if not one_line and not tb:
            problems.append("no one-line error message")
    elif case.expect == "fail":
        problems.append("accepted an invalid input")
    if out.timed_out:
        problems.append("timed out")
    outside = stray(out.violations, case.asked_paths(case_dir))
    if outside:
        problems.append("wrote outside: " + "; ".join(outside[:3]))
    return Verdict(not zero, one_line, tb, zero, bool(outside), problems)


Generator = Callable[[int, int], list[Case]]  # (cases, seed) -> cases
