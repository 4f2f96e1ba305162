"""Logging set-up shared by the leader, workers and command-line tools (Toil's format)."""

from __future__ import annotations

import gzip
import logging
import logging.handlers
import os
import re
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from toil.runtime.config import Config

FORMAT = "[%(asctime)s] [%(threadName)-10s] [%(levelname).1s] [%(name)s] %(message)s"
DATEFMT = "%Y-%m-%dT%H:%M:%S%z"
_files: list[str] = []
_QUIET = ("boto3", "botocore", "urllib3", "s3transfer", "filelock")
_SAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def level_of(name: str | None) -> int:
    text = str(name or "INFO").upper()
    if text == "OFF":
        return logging.CRITICAL
    value = logging.getLevelName(text)
    return value if isinstance(value, int) else logging.INFO


def configure(level: str | None = "INFO", log_file: str | None = None, rotating: bool = False) -> None:
    """Set up the root logger once (stderr), at the given level, optionally also to a file."""
    root = logging.getLogger()
    if not any(getattr(h, "_toil", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        handler._toil = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level_of(level))
    quiet_libraries()
    if log_file and log_file not in _files:
        try:
            fh: logging.Handler = (
                logging.handlers.RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=1)
                if rotating
                else logging.FileHandler(log_file)
            )
        except OSError as e:
            from toil.exceptions import ToilUserError

            raise ToilUserError(f"cannot write the log file {log_file}: {e.strerror or e}") from None
        _files.append(log_file)
        fh.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        root.addHandler(fh)


def set_logging_from_options(options: object) -> None:
    """Logging as ``options`` ask (a Config or a parsed namespace; an option it lacks keeps its default)."""
    configure(
        getattr(options, "logLevel", "INFO"),
        getattr(options, "logFile", None),
        bool(getattr(options, "logRotating", False)),
    )


def quiet_libraries() -> None:
    """Keep the chatty loggers of libraries (boto3, urllib3 ...) to critical messages."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.CRITICAL)


class JobLogs:
    """How the leader shows a job's log: Toil's ``StatsAndLogging`` class methods, under Toil's names.

    ``toil.statsAndLogging.StatsAndLogging`` is this class, so user code that replaces ``logWithFormatting``
    (toil_container does, to print logs its own way) changes what the leader prints.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError(
            "StatsAndLogging is the leader's own log collector in Toil and is not started by "
            "user code here; use its class methods formatLogStream, logWithFormatting and "
            "writeLogFiles"
        )

    @classmethod
    def formatLogStream(cls, stream: Iterable[str | bytes], stream_name: str) -> str:
        """A job's log as one block: 'NAME follows:', '=========>', each line after a tab, '<========='."""
        lines = [f"{stream_name} follows:", "=========>"]
        for line in stream:
            text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else str(line)
            lines.append("\t" + text.rstrip("\n"))
        lines.append("<=========")
        return "\n".join(lines)

    @classmethod
    def logWithFormatting(
        cls,
        stream_name: str,
        jobLogs: Iterable[str | bytes],
        method: Callable[[str], object] = logging.getLogger("toil").debug,
        message: str | None = None,
    ) -> None:
        """Log ``message`` (if any), then the formatted log, with ``method``."""
        if message is not None:
            method(message)
        method(cls.formatLogStream(jobLogs, stream_name))

    @classmethod
    def writeLogFiles(cls, jobNames: list[str], jobLogList: list[str], config: "Config", failed: bool = False) -> None:
        """Keep log lines in --writeLogs (or gzipped in --writeLogsGzip), named after the first job."""
        directory, gzipped = job_log_target(config)
        if directory and jobNames:
            text = "".join(line if line.endswith("\n") else line + "\n" for line in jobLogList).encode()
            write_job_log(directory, jobNames[0], text, failed=failed, gzipped=gzipped)


def job_log_target(config: "Config") -> tuple[str | None, bool]:
    """Where every job's log is kept, and whether gzipped: --writeLogs DIR, else --writeLogsGzip DIR."""
    plain = config.writeLogs
    return plain or config.writeLogsGzip, not plain


def write_job_log(
    directory: str, label: str, text: bytes, failed: bool = False, gzipped: bool = False, suffix: str = ""
) -> str:
    """Keep a job's log in ``directory`` (--writeLogs/--writeLogsGzip) as LABEL_SUFFIX.log, 'failed_' first for a
    failed job; return the path written."""
    os.makedirs(directory, exist_ok=True)
    name = f"{'failed_' if failed else ''}{_SAFE_FILE_NAME.sub('_', label)[:80]}{'_' + suffix if suffix else ''}.log"
    path = os.path.join(directory, name + (".gz" if gzipped else ""))
    with gzip.open(path, "wb") if gzipped else open(path, "wb") as f:
        f.write(text)
    return path
