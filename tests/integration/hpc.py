"""Fixtures for tests against real daemons on this machine: Slurm, Grid Engine, Podman (started by infra/*.sh).

If the daemons cannot start, the tests skip with the reason; under CI (``CI`` set) that is a failure
instead, because CI must run them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GE_ENV = {"SGE_ROOT": "/var/lib/gridengine", "SGE_CELL": "default"}


def _unavailable(what: str, detail: str) -> None:
    message = f"{what} is not available: {detail.strip()[-800:]}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run these tests)")
    pytest.skip(message)


def _quiet(argv: list[str], env: dict | None = None, timeout: float = 10) -> bool:
    try:
        return (
            subprocess.run(argv, capture_output=True, timeout=timeout, env={**os.environ, **(env or {})}).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_slurm() -> None:
    if _quiet(["sinfo", "-h"]) and _quiet(["sacct", "-n", "-X", "-S", "now"]):
        return
    p = subprocess.run(["bash", str(REPO / "infra" / "slurm-up.sh")], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        _unavailable("Slurm", p.stderr or p.stdout)


def ensure_grid_engine() -> None:
    os.environ.update(GE_ENV)
    if _quiet(["qstat", "-f"], GE_ENV) and _quiet(["qconf", "-sq", "all.q"], GE_ENV):
        return
    p = subprocess.run(["bash", str(REPO / "infra" / "ge-up.sh")], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        _unavailable("Grid Engine", p.stderr or p.stdout)


def ensure_podman() -> None:
    """Podman with the images the tests name, and its Docker API for the docker CLI (infra/podman-up.sh)."""
    if _quiet(["podman", "image", "exists", "docker.io/library/debian:stable-slim"], timeout=60) and _quiet(
        ["curl", "-sf", "--unix-socket", "/run/podman/podman.sock", "http://d/_ping"]
    ):
        return
    p = subprocess.run(["bash", str(REPO / "infra" / "podman-up.sh")], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        _unavailable("Podman", p.stderr or p.stdout)


def slurm_jobs(name_prefix: str = "toil_") -> list[dict[str, str]]:
    """Every job sacct knows whose name starts with the prefix: id, name, state, cpus, memory, exit code."""
    p = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-S", "now-1hours", "-o", "JobIDRaw,JobName,State,AllocCPUS,ReqMem,ExitCode"],
        capture_output=True,
        text=True,
    )
    keys = ("id", "name", "state", "cpus", "mem", "exit")
    rows = [dict(zip(keys, line.split("|"))) for line in p.stdout.splitlines() if line.count("|") == 5]
    return [r for r in rows if r["name"].startswith(name_prefix)]


def squeue_ids(name: str) -> list[str]:
    p = subprocess.run(["squeue", "-h", f"--name={name}", "-o", "%i"], capture_output=True, text=True)
    return p.stdout.split()
