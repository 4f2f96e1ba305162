"""Where this installation lives, as Toil's top-level helpers report it."""

from __future__ import annotations

import os
import sys


def toilPackageDirPath() -> str:
    """The absolute path of the ``toil`` package's directory (it ends in /toil)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def inVirtualEnv() -> bool:
    """Whether this Python runs in a virtualenv or a Conda environment."""
    return (
        "VIRTUAL_ENV" in os.environ
        or "CONDA_DEFAULT_ENV" in os.environ
        or hasattr(sys, "real_prefix")
        or sys.base_prefix != sys.prefix
    )


def resolveEntryPoint(entryPoint: str) -> str:
    """The path of a console script (``toil``, ``_toil_worker``) that works on a worker: inside a virtualenv, the
    one beside this Python when it is there, else the bare name (found on PATH)."""
    path = os.path.join(os.path.dirname(sys.executable), entryPoint)
    if inVirtualEnv() and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return entryPoint
