"""Toil's ``toil.statsAndLogging``: logging set-up helpers and the job-log formatting user code calls."""

from __future__ import annotations

import logging
from typing import Any

from toil.runtime.observe.logs import JobLogs, configure, level_of, set_logging_from_options

DEFAULT_LOGLEVEL = logging.INFO
TRACE = logging.DEBUG - 5
logger = logging.getLogger(__name__)
root_logger = logging.getLogger()
toil_logger = logging.getLogger("toil")
logging.addLevelName(TRACE, "TRACE")


def configure_root_logger() -> None:
    """Toil's log format on standard error, at INFO."""
    configure("INFO")


def set_log_level(level: str, set_logger: logging.Logger | None = None) -> None:
    (set_logger or root_logger).setLevel(level_of(level))


def log_to_file(log_file: str | None, log_rotation: bool) -> None:
    """Also log to ``log_file`` (rotated at 1 MB with ``log_rotation``)."""
    configure(logging.getLevelName(root_logger.getEffectiveLevel()), log_file, log_rotation)


def add_logging_options(parser: Any, default_level: int | None = None) -> None:
    """Add --logLevel, --logDebug ..., --logOff, --logFile and --rotatingLogging (the same options, defaults and
    destinations as Job.Runner.addToilOptions, which adds them too: call one of the two on a parser)."""
    from toil.options.common import add_option_group

    add_option_group(parser, "logging")
    if default_level is not None:
        parser.set_defaults(logLevel=logging.getLevelName(default_level))


def suppress_exotic_logging(local_logger: str) -> None:
    """Quiet the chatty loggers of libraries (boto3, botocore, urllib3 ...) below CRITICAL."""
    from toil.runtime.observe.logs import quiet_libraries

    quiet_libraries()


def install_log_color(set_logger: logging.Logger | None = None) -> None:
    """Colour log lines by level when coloredlogs is installed (Toil's look); plain otherwise."""
    try:
        import coloredlogs
    except ImportError:
        return
    from toil.runtime.observe.logs import DATEFMT, FORMAT

    target = set_logger or root_logger
    coloredlogs.install(level=target.getEffectiveLevel(), logger=target, fmt=FORMAT, datefmt=DATEFMT)


StatsAndLogging = JobLogs


__all__ = [
    "set_logging_from_options",
    "configure_root_logger",
    "set_log_level",
    "add_logging_options",
    "DEFAULT_LOGLEVEL",
    "TRACE",
    "logger",
    "root_logger",
    "toil_logger",
    "StatsAndLogging",
    "log_to_file",
    "suppress_exotic_logging",
    "install_log_color",
]
