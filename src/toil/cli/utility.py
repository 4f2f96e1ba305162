"""What the `toil` subcommands share: their parser's job store argument and opening an existing job store."""

from __future__ import annotations

import argparse
from typing import Any

from toil.exceptions import ToilUserError
from toil.options.parser import ToilArgumentParser


def utility_parser(prog: str, description: str, log_level: str = "WARNING") -> argparse.ArgumentParser:
    """A parser with the job store argument every subcommand takes."""
    p = ToilArgumentParser(prog=prog, description=description)
    p.add_argument("jobStore", help="The workflow's job store: file:PATH or a bare PATH.")
    p.add_argument("--logLevel", default=log_level, help=argparse.SUPPRESS)
    return p


def open_existing_job_store(locator: str, why_missing: str = "") -> Any:
    """The job store at ``locator``; one clear line if it does not exist or is not a job store of ours."""
    from toil.runtime.jobstores import normalize_locator, open_job_store

    js = open_job_store(normalize_locator(locator))
    if not js.exists():
        raise ToilUserError(f"the job store {js.locator} does not exist{why_missing}")
    js.read_meta()
    return js
