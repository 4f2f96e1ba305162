"""Toil's own example scripts (sort.py, the tutorial scripts of its documentation), taken unchanged from Toil
9.6's wheel on PyPI at test time: they are test inputs, never part of this project, and Toil is never installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".venv" / "toil-9.6-scripts"
TOIL_RELEASE = "toil==9.6.0"
MEMBERS = ("toil/test/sort/sort.py", "toil/test/docs/scripts/")


def toil_96_scripts() -> Path:
    """The directory holding toil/test/sort/sort.py and toil/test/docs/scripts/* of Toil 9.6's wheel."""
    marker = CACHE / ".complete"
    if not marker.exists():
        wheels = CACHE / "wheel"
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary",
                ":all:",
                TOIL_RELEASE,
                "-d",
                str(wheels),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        found = sorted(wheels.glob("toil-*.whl")) if wheels.exists() else []
        if p.returncode != 0 or not found:
            message = f"cannot download {TOIL_RELEASE}'s wheel for its example scripts: {p.stderr.strip()[-500:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        with zipfile.ZipFile(found[0]) as wheel:
            for name in wheel.namelist():
                if name.startswith(MEMBERS):
                    wheel.extract(name, CACHE)
        marker.write_text(found[0].name)
    return CACHE / "toil" / "test"
