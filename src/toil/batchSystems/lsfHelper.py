"""Toil's ``toil.batchSystems.lsfHelper``: what an LSF cluster's configuration says about memory reservations."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from typing import IO, Callable, Iterator

LSB_PARAMS_FILENAME = "lsb.params"
LSF_CONF_FILENAME = "lsf.conf"
LSF_CONF_ENV = ["LSF_CONFDIR", "LSF_ENVDIR"]
_PER_CORE_KEYS = {"RESOURCE_RESERVE_PER_SLOT", "RESOURCE_RESERVE_PER_TASK"}


def tokenize_conf_stream(conf_handle: IO[str] | list[str]) -> Iterator[tuple[str, str]]:
    """KEY=VALUE pairs of an LSF configuration text (comments and other lines skipped)."""
    for line in conf_handle:
        if line.startswith("#"):
            continue
        tokens = line.split("=")
        if len(tokens) == 2:
            yield tokens[0].strip(), tokens[1].strip()


def per_core_reserve_from_stream(stream: IO[str] | list[str]) -> str | None:
    """The value of RESOURCE_RESERVE_PER_SLOT/_TASK in a configuration text, upper-cased, or None."""
    for key, value in tokenize_conf_stream(stream):
        if key in _PER_CORE_KEYS:
            return value.upper()
    return None


def _command_output(argv: list[str]) -> list[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return None


def _conf_file(filename: str) -> str | None:
    for env in LSF_CONF_ENV:
        base = os.environ.get(env)
        if base:
            for root, _dirs, files in os.walk(base):
                for name in fnmatch.filter(files, filename):
                    return os.path.join(root, name)
    return None


def per_core_reservation() -> bool:
    """Whether the LSF cluster reserves memory per core (True) or per job (False): from ``bparams -a``, else
    ``lsadmin showconf lim``, else lsb.params under $LSF_CONFDIR/$LSF_ENVDIR; per job when none says."""
    sources: list[Callable[[], list[str] | None]] = [
        lambda: _command_output(["bparams", "-a"]),
        lambda: _command_output(["lsadmin", "showconf", "lim"]),
    ]
    for source in sources:
        lines = source()
        value = per_core_reserve_from_stream(lines) if lines else None
        if value:
            return value == "Y"
    path = _conf_file(LSB_PARAMS_FILENAME)
    if path:
        with open(path, encoding="utf-8") as f:
            return per_core_reserve_from_stream(f) == "Y"
    return False


__all__ = [
    "per_core_reservation",
    "per_core_reserve_from_stream",
    "tokenize_conf_stream",
    "LSB_PARAMS_FILENAME",
    "LSF_CONF_FILENAME",
    "LSF_CONF_ENV",
]
