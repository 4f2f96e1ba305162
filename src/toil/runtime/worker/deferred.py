"""Deferred functions: run when a job attempt ends, even if its process was killed.

``job.defer(f, *args)`` records ``f`` both in memory and in a file named after
the worker's pid. A normal end runs and removes them; if the process dies,
whoever reaps it (the local batch system) calls ``run_orphaned`` for its pid.
"""

from __future__ import annotations

import logging
import os
import pickle
from typing import Any, Callable

from toil.runtime.jobstores.file.fsutil import atomic_write, unlink_quiet

log = logging.getLogger(__name__)

# A deferred call: the function, its positional and its keyword arguments (whatever the job gave).
Deferred = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


def _state_path(directory: str, pid: int) -> str:
    return os.path.join(directory, f"deferred-{pid}.pkl")


class DeferredFunctions:
    """The deferred functions of the current process's job attempt."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.functions: list[Deferred] = []

    def add(self, function: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        import cloudpickle

        self.functions.append((function, args, kwargs))
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        atomic_write(_state_path(self.directory, os.getpid()), cloudpickle.dumps(self.functions), durable=False)

    def run_all(self) -> None:
        """Run every deferred function (errors are logged, not raised), then forget them."""
        if not self.functions:
            return  # nothing registered, so no state file was written either
        functions, self.functions = self.functions, []
        for function, args, kwargs in functions:
            _call(function, args, kwargs)
        unlink_quiet(_state_path(self.directory, os.getpid()))


def _call(function: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        function(*args, **kwargs)
    except Exception:
        log.exception("Deferred function %s failed", getattr(function, "__name__", function))


def run_orphaned(directory: str, pid: int) -> int:
    """Run the deferred functions a dead process left behind; return how many ran."""
    path = _state_path(directory, pid)
    try:
        with open(path, "rb") as f:
            functions: list[Deferred] = pickle.load(f)
    except FileNotFoundError:
        return 0
    except Exception:
        log.exception("Could not read the deferred functions of process %d", pid)
        unlink_quiet(path)
        return 0
    unlink_quiet(path)
    for function, args, kwargs in functions:
        _call(function, args, kwargs)
    return len(functions)
