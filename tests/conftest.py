"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
# Retries wait 2 s, 6 s ... in production; tests only need the order of events, not the waits.
os.environ.setdefault("TOIL_RETRY_BACKOFF_SECONDS", "0.05")


def toil_options(job_store: Path | str, **overrides: Any):
    """Default options for a workflow, with overrides (Toil option names)."""
    from toil.job import Job

    options = Job.Runner.getDefaultOptions(str(job_store))
    options.logLevel = "WARNING"
    for key, value in overrides.items():
        setattr(options, key, value)
    return options


@pytest.fixture
def job_store(tmp_path: Path) -> Path:
    return tmp_path / "jobstore"


@pytest.fixture
def run_workflow(job_store: Path):
    """Run a root job to completion in this process and return its value."""
    from toil.common import Toil

    def run(root, **overrides):
        with Toil(toil_options(job_store, **overrides)) as toil:
            return toil.start(root)

    return run


def run_script(
    script: Path | str, *args: str, env: dict | None = None, timeout: float = 120, cwd: Path | str | None = None
) -> subprocess.CompletedProcess:
    """Run a workflow script in a fresh interpreter, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd
    )


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "a condition", step: float = 0.1) -> Any:
    """The first true value ``predicate()`` gives, asked every ``step`` seconds; AssertionError after ``timeout``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
