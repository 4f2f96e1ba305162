"""Toil's ``toil.lib.bioio``: the helpers cactus still imports from it (kept by Toil as wrappers)."""

from __future__ import annotations

import logging
import os
import random
import string
import subprocess
import tempfile
from typing import Any, Sequence

from toil.statsAndLogging import add_logging_options, logger, root_logger, set_logging_from_options


def system(command: str | Sequence[str]) -> None:
    """Run a command, raising CalledProcessError if it fails.

    A list runs as given. A string is a shell command line, as in Toil: it is handed to ``/bin/sh -c``
    (the one shell the caller asks for by passing a string).
    """
    logger.debug("Running: %s", command)
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    subprocess.check_call(argv, bufsize=-1)


def getLogLevelString(logger: logging.Logger | None = None) -> str:
    """The name of the effective level of ``logger`` (default: the root logger)."""
    return logging.getLevelName((logger or root_logger).getEffectiveLevel())


def setLoggingFromOptions(options: Any) -> None:
    """Set up logging from parsed options (``--logLevel``, ``--logFile``, ``--rotatingLogging``)."""
    set_logging_from_options(options)


def addLoggingOptions(parser: Any) -> None:
    """Toil's old name for ``toil.statsAndLogging.add_logging_options`` (gone from Toil 9.6; cactus's older
    releases call it)."""
    add_logging_options(parser)


def getTempFile(suffix: str = "", rootDir: str | None = None) -> str:
    """Create an empty temporary file and return its path; the caller deletes it."""
    if rootDir is None:
        handle, path = tempfile.mkstemp(suffix)
        os.close(handle)
        return path
    name = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(10))
    path = os.path.join(rootDir, f"tmp_{name}{suffix}")
    open(path, "w").close()
    return path


__all__ = [
    "system",
    "getLogLevelString",
    "setLoggingFromOptions",
    "addLoggingOptions",
    "getTempFile",
    "logger",
    "root_logger",
]
