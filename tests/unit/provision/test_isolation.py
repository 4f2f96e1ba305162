"""The runtime never imports provision/: only the toil command's cluster subcommands load it, when run."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

SRC = pathlib.Path(__file__).resolve().parents[3] / "src" / "toil"


def test_no_module_outside_provision_imports_it() -> None:
    importing = re.compile(r"^\s*(from|import)\s+toil\.provision\b", re.M)
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "provision" not in path.relative_to(SRC).parts and importing.search(path.read_text())
    ]
    assert offenders == []


def test_loading_the_runtime_and_the_toil_command_loads_no_provisioner() -> None:
    code = (
        "import sys, toil.job, toil.common, toil.runtime.leader, toil.cli.toil_main;"
        "print([m for m in sys.modules if m.startswith('toil.provision') or m == 'boto3'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
