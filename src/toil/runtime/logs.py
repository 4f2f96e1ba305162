"""Logging set-up shared by the leader, workers and command-line tools (Toil's format)."""
from __future__ import annotations

import logging
import logging.handlers
from typing import Any

FORMAT = "[%(asctime)s] [%(threadName)-10s] [%(levelname).1s] [%(name)s] %(message)s"
DATEFMT = "%Y-%m-%dT%H:%M:%S%z"
_files: list[str] = []
_QUIET = ("boto3", "botocore", "urllib3", "s3transfer", "filelock")


def level_of(name: Any) -> int:
    text = str(name or "INFO").upper()
    if text == "OFF":
        return logging.CRITICAL
    value = logging.getLevelName(text)
    return value if isinstance(value, int) else logging.INFO


def configure(level: Any = "INFO", log_file: str | None = None, rotating: bool = False) -> None:
    """Set up the root logger once (stderr), at the given level, optionally also to a file."""
    root = logging.getLogger()
    if not any(getattr(h, "_toil", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        handler._toil = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level_of(level))
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if log_file and log_file not in _files:
        try:
            fh: logging.Handler = (logging.handlers.RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=1)
                                   if rotating else logging.FileHandler(log_file))
        except OSError as e:
            from toil.exceptions import ToilUserError
            raise ToilUserError(f"cannot write the log file {log_file}: {e.strerror or e}") from None
        _files.append(log_file)
        fh.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        root.addHandler(fh)


def set_logging_from_options(options: Any) -> None:
    configure(getattr(options, "logLevel", "INFO"), getattr(options, "logFile", None),
              bool(getattr(options, "logRotating", False)))
