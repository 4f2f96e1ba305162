"""Toil's ``toil.lib.misc``: small helpers user code imports (path types, user name, addresses, times)."""

from __future__ import annotations

import datetime
import getpass
import logging
import os
import random
import socket
import subprocess
import sys
import time
from contextlib import closing
from typing import Iterator, TypeAlias, Union

log = logging.getLogger(__name__)

StrPath: TypeAlias = Union[str, "os.PathLike[str]"]
FileDescriptorOrPath: TypeAlias = Union[int, bytes, "os.PathLike[bytes]", StrPath]


def get_public_ip() -> str:
    """The address this machine would use to reach the internet, or 127.0.0.1.

    A UDP socket's connect sends nothing; it only asks the kernel for a route
    (to a TEST-NET-3 address that no host answers)."""
    try:
        with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
            sock.connect(("203.0.113.1", 1))
            return str(sock.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def get_user_name() -> str:
    """This user's name, or a stand-in when the uid has no passwd entry (as in some containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"UnknownUser{os.getuid()}"


def utc_now() -> datetime.datetime:
    """Now, in UTC, as an aware datetime."""
    return datetime.datetime.now(datetime.timezone.utc)


def unix_now_ms() -> float:
    """Milliseconds since the Unix epoch."""
    return time.time() * 1000


def unix_seconds_to_timestamp(timestamp: float) -> str:
    """An ISO 8601 UTC timestamp for a Unix time."""
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat()


def unix_seconds_to_local_time(timestamp: float) -> datetime.datetime:
    """A Unix time as an aware datetime in this machine's time zone."""
    return datetime.datetime.fromtimestamp(timestamp).astimezone()


def seconds_to_duration(time_difference: float) -> str:
    """An ISO 8601 duration ('PT1.500S')."""
    return f"PT{time_difference:.3f}S"


def slow_down(seconds: float) -> float:
    """A job length that is never 0 (some engines round start and end to the same second)."""
    return max(seconds, sys.float_info.epsilon)


def printq(msg: str, quiet: bool, log: bool = False) -> None:
    """Unless quiet: print msg, or with ``log`` log it at debug level instead."""
    if not quiet:
        if log:
            logging.getLogger(__name__).debug(msg)
        else:
            print(msg)


def truncExpBackoff() -> Iterator[float]:
    """Waits between retries: 0, then 1, 2, 4 ... 512 seconds with up to 1 s of jitter, then 1024 forever."""
    yield 0
    t = 1
    while t < 1024:
        yield t + random.random()
        t *= 2
    while True:
        yield t


class CalledProcessErrorStderr(subprocess.CalledProcessError):
    """A CalledProcessError whose message includes the command's standard error."""

    def __str__(self) -> str:
        if self.stderr is None:
            return super().__str__()
        err = self.stderr.decode() if isinstance(self.stderr, bytes) else str(self.stderr)
        return f"Command '{self.cmd}' exit status {self.returncode}: {err}"


def call_command(
    cmd: list[str],
    *args: str,
    input: str | None = None,
    timeout: float | None = None,
    useCLocale: bool = True,
    env: dict[str, str] | None = None,
    quiet: bool = False,
) -> str:
    """Run ``cmd + args`` (never through a shell) and return its standard output as text.

    A non-zero exit raises CalledProcessErrorStderr carrying the command's standard error.
    """
    argv = list(cmd) + list(args)
    environment = dict(os.environ if env is None else env)
    if useCLocale:
        environment["LANGUAGE"] = environment["LC_ALL"] = "C"
    if not quiet:
        log.debug("run command: %s", " ".join(argv))
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, env=environment)
    if proc.returncode != 0:
        raise CalledProcessErrorStderr(proc.returncode, argv, output=proc.stdout, stderr=proc.stderr)
    return proc.stdout


def is_mac() -> bool:
    return sys.platform == "darwin"


__all__ = [
    "StrPath",
    "FileDescriptorOrPath",
    "get_public_ip",
    "get_user_name",
    "utc_now",
    "unix_now_ms",
    "unix_seconds_to_timestamp",
    "unix_seconds_to_local_time",
    "seconds_to_duration",
    "slow_down",
    "printq",
    "truncExpBackoff",
    "CalledProcessErrorStderr",
    "call_command",
]
