"""What the chaos scenarios share: running the chaos workflow, reading its side file and its job store."""

from __future__ import annotations

import collections
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toil.exceptions import JobStoreCorruptError
from toil.runtime.jobstores import open_job_store

WORKFLOW = Path(__file__).parent / "workflow.py"
# Where runs keep their job stores: "file" (ROOT/js) or "aws" (a bucket per run on the S3 stand-in; run.py
# points the environment at it)
STORE_KIND = "file"


@dataclass
class Run:
    """One chaos run's directory: its job store, side file and output."""

    root: Path
    delay: float = 0.05
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    job_store: Path | None = None  # default: ROOT/js, or a bucket named after ROOT (STORE_KIND "aws")

    @property
    def js(self) -> Path | str:
        if self.job_store is None and STORE_KIND == "aws":
            return f"aws:us-west-2:chaos-{hashlib.sha1(str(self.root).encode()).hexdigest()[:24]}"
        return self.job_store or self.root / "js"

    @property
    def side(self) -> Path:
        return self.root / "side"

    @property
    def output(self) -> Path:
        return self.root / "out.json"

    def args(self, restart: bool) -> list[str]:
        return [
            sys.executable,
            str(WORKFLOW),
            str(self.js),
            "--output",
            str(self.output),
            "--logLevel",
            "WARNING",
            "--clean",
            "never",
            "--maxCores",
            "2",
            "--disableProgress",
            *self.extra,
            *(["--restart"] if restart else []),
        ]

    def environ(self) -> dict[str, str]:
        return {**os.environ, "SIDE_FILE": str(self.side), "JOB_DELAY": str(self.delay), **self.env}

    def start(self, restart: bool = False) -> subprocess.Popen[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            self.args(restart),
            env=self.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def finish(self, restart: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run to the end: --restart, or a fresh start if the killed leader had recorded nothing."""
        if restart and not has_workflow(self.js):
            restart = False
        p = self.start(restart)
        out, err = p.communicate(timeout=timeout)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def reset(self) -> None:
        """Start this run over: its directory and, on an object store, its bucket."""
        if isinstance(self.js, str):
            open_job_store(self.js).destroy()
        shutil.rmtree(self.root, ignore_errors=True)

    def marks(self) -> list[tuple[str, str, int]]:
        if not self.side.exists():
            return []
        rows = []
        for line in self.side.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                rows.append((parts[0], parts[1], int(parts[2])))
        return rows

    def counts(self) -> collections.Counter[str]:
        return collections.Counter(node for _, node, _ in self.marks())

    def lost(self) -> list[str]:
        return [name for name, _, _ in self.marks() if name.startswith("LOST-")]


def has_workflow(js: Path | str) -> bool:
    """Whether a leader recorded the workflow (so --restart applies): read as ``toil status`` reads it."""
    store = open_job_store(str(js))
    if not store.exists():
        return False
    try:
        snapshot, records = store.journal().load(repair=False)
    except JobStoreCorruptError:  # damaged on purpose (torn_state): the restart must refuse it in one line
        return True
    return snapshot is not None or bool(records)


def recorded_done(js: Path | str, ran: set[str]) -> set[str]:
    """Of the nodes that ran, those whose completion the job store records (they must never run again).

    A completion is recorded by a 'ran' record in the journal. At this workflow's size the leader writes
    no snapshot before the end (it compacts after 20,000 records), so every record of the run is there.
    """
    if not has_workflow(js):
        return set()
    _, records = open_job_store(str(js)).journal().load(repair=False)
    return {r["id"] for r in records if r.get("t") == "ran"} & ran


def ran_again(done: set[str], before: dict[str, int], after: dict[str, int]) -> list[str]:
    """The recorded-done nodes that ran again between two readings of the side file."""
    return [n for n in done if after.get(n, 0) > before.get(n, 0)]


def kill_group(p: subprocess.Popen[Any]) -> None:
    """SIGKILL the leader alone (its jobs die with it by design: their fork server watches the leader)."""
    p.kill()
    p.communicate()


def reference(root: Path) -> tuple[str, float]:
    """The output of an undisturbed run, and how long it took."""
    run = Run(root)
    t0 = time.monotonic()
    p = run.finish(restart=False)
    if p.returncode != 0:
        raise RuntimeError(f"the reference run failed: {p.stderr[-2000:]}")
    return run.output.read_text(), time.monotonic() - t0


def wait_for(predicate: Any, timeout: float = 30.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def one_line_error(stderr: str) -> str | None:
    """The error line if stderr ends in exactly one error line and has no traceback, else None."""
    if "Traceback" in stderr:
        return None
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines and ": error:" in lines[-1] else None
