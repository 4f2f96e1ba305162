"""A warm worker process of the single_machine batch system.

Forked by the zygote, it connects to the leader and runs jobs one at a time.
Copy-on-write faults after a fork cost a few milliseconds per process on
small VMs; a worker pays them once and then runs each further job in about a
millisecond less. Between jobs it puts back what a job may have changed in the
process (working directory, environment, umask, sys.path, signal handlers,
logging, standard streams), and it is replaced by a fresh process after a job
that failed, left threads or child processes behind, grew the memory past a
limit, or after --maxJobsPerWorker jobs (1 gives every job a fresh process).
"""

from __future__ import annotations

import logging
import os
import resource
import selectors
import signal
import socket
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

from toil.runtime.batch.local.zygote import Channel
from toil.runtime.jobstores.retry import CANNOT_WRITE

MEMORY_GROWTH_LIMIT = 512 * 1024 * 1024
_SIGNALS = [
    s
    for s in (
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGALRM,
        signal.SIGPIPE,
        signal.SIGCHLD,
        signal.SIGINT,
    )
]


@dataclass
class Policy:
    max_jobs: int = 1000
    memory_growth: int = MEMORY_GROWTH_LIMIT


class _Baseline:
    """The process state a job starts from, and how to put it back."""

    def __init__(self) -> None:
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.umask = os.umask(0o077)
        os.umask(self.umask)
        self.path = list(sys.path)
        self.argv = list(sys.argv)
        self.streams = (sys.stdin, sys.stdout, sys.stderr)
        root = logging.getLogger()
        self.root_handlers, self.root_level = list(root.handlers), root.level
        self.signals = {s: signal.getsignal(s) for s in _SIGNALS}
        self.tempdir = tempfile.tempdir
        self.warning_filters = list(warnings.filters)
        self.rss = _rss()

    def restore(self) -> None:
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        os.chdir(self.cwd)
        os.umask(self.umask)
        sys.path[:] = self.path
        sys.argv[:] = self.argv
        sys.stdin, sys.stdout, sys.stderr = self.streams
        root = logging.getLogger()
        root.handlers[:] = self.root_handlers
        root.setLevel(self.root_level)
        for s, handler in self.signals.items():
            try:
                signal.signal(s, handler if handler is not None else signal.SIG_DFL)
            except (OSError, ValueError, TypeError):
                pass
        signal.alarm(0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        tempfile.tempdir = self.tempdir
        warnings.filters[:] = self.warning_filters  # type: ignore[index]


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _has_threads() -> bool:
    """Whether a job left threads running. A cancelled timer (cwltool times expressions with one) is
    finishing on its own: wait a moment for it instead of replacing the worker."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and thread.finished.is_set():
            thread.join(0.2)
    return threading.active_count() > 1


def _has_children() -> bool:
    """Whether a job left child processes behind (helpers a runner declared long-lived do not count)."""
    from toil.runtime.worker.attempt import kept_children

    keep = kept_children()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children", "rb") as f:
                if any(int(pid) not in keep for pid in f.read().split()):
                    return True
    except (OSError, ValueError):
        return False
    return False


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _redirect_output(log_path: str | None) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(log_path, os.O_WRONLY | os.O_APPEND) if log_path else os.open(os.devnull, os.O_WRONLY)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)


def _bind_standard_streams() -> None:
    """Point sys.stdout/sys.stderr (and logging) at file descriptors 1 and 2, as in a fresh process.

    The leader's objects may be something else (a test runner's capture, say);
    a job's output must land in its own log.
    """
    import io

    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stderr)


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def worker_main(
    address: str,
    worker_id: str,
    run_job: Callable[[dict[str, Any]], tuple[int, bytes]],
    policy: Policy,
    capture_output: bool,
) -> NoReturn:
    """The worker's whole life: connect, run jobs until told to stop or recycled, exit."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    channel = Channel(sock.fileno(), sock.fileno())
    channel.send(("hello", worker_id, os.getpid()))
    if capture_output:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _redirect_output(None)
        _bind_standard_streams()
    baseline = _Baseline()
    sel = selectors.DefaultSelector()
    sel.register(sock.fileno(), selectors.EVENT_READ)
    jobs = 0
    while True:
        msg = _next_message(channel, sel)
        if msg is None or msg[0] == "exit":
            _exit()
        _, token, message, log_path = msg
        if capture_output:
            _redirect_output(log_path)
        _reset_peak_rss()
        cpu0 = _cpu_seconds()
        result = b""
        try:
            code, result = run_job(message)
        except OSError as e:
            if e.errno not in CANNOT_WRITE:
                raise
            print(f"Cannot write the job's result: {e.strerror}", file=sys.stderr, flush=True)
            code = 3
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 3
        cpu = _cpu_seconds() - cpu0
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        jobs += 1
        recycle = (
            code != 0
            or jobs >= policy.max_jobs
            or _has_threads()
            or _has_children()
            or _rss() > baseline.rss + policy.memory_growth
        )
        if capture_output:
            _redirect_output(None)
        baseline.restore()
        channel.send(("done", token, code, cpu, maxrss, recycle, result))
        while channel.pending_output and not channel.closed:
            _wait_writable(channel)
        if recycle or channel.closed:
            _exit()


def _exit() -> NoReturn:
    raise SystemExit(0)


def _next_message(channel: Channel, sel: selectors.BaseSelector) -> Any:
    pending: list[Any] = []
    while not pending:
        sel.select()
        pending = channel.receive()
        if channel.closed and not pending:
            return None
    if len(pending) > 1:
        raise RuntimeError("the leader sent a worker a second job while it was busy")
    return pending[0]


def _wait_writable(channel: Channel) -> None:
    import select

    select.select([], [channel.write_fd], [], 1.0)
    channel.flush()
