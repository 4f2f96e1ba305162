"""Toil's ``toil.statsAndLogging``: logging set-up helpers."""
import logging

from toil.runtime.logs import configure, set_logging_from_options

DEFAULT_LOGLEVEL = logging.INFO
logger = logging.getLogger(__name__)


def configure_root_logger() -> None:
    configure("INFO")


def set_log_level(level: str, set_logger: logging.Logger | None = None) -> None:
    from toil.runtime.logs import level_of
    (set_logger or logging.getLogger()).setLevel(level_of(level))


def add_logging_options(parser: object) -> None:
    """Toil's logging options are part of Job.Runner.addToilOptions here."""


__all__ = ["set_logging_from_options", "configure_root_logger", "set_log_level", "add_logging_options",
           "DEFAULT_LOGLEVEL"]
