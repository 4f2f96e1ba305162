"""Headless Chromium for the tests that render pages (the stats report, the live dashboard)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_TIMEOUT = 120


def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail(
            "the 'chromium' binary is not on PATH: install Debian's chromium package "
            "(apt-get install chromium); CI installs it, so this test does not skip"
        )
    return binary


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a profile of its own under ``tmp_path`` (e.g. ``--dump-dom URL``)."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT)
