"""Run a pack of jobs in one scheduler allocation, one after another (see packing.py).

Usage: ``python -m toil.runtime.batch.remote.packrun JOBSTORE PACK``. PACK names the pack's message in the job
store (or is a pack file's path); it lists each job's token, message and log file. Each job runs in a
child process forked from this warm one, its output in its own log (a file the batch system chose, or,
where it chose none, a job store message ``TOKEN.log``), its result in the job store as if it had run
alone. Progress lines go to the pack's progress message, which the leader reads at each poll::

    start TOKEN TIME        end TOKEN EXIT_CODE SECONDS        skip TOKEN

A token listed in the pack's cancel message is skipped, or killed if it is running.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toil.runtime.config import Config
    from toil.runtime.jobstores import JobStore

CANCEL_CHECK_SECONDS = 0.2


class Progress:
    """The pack's progress message, rewritten whole (readers see whole lines only).

    Lines are sent at most every FLUSH_SECONDS, and always when a job has been running that long: a pack of
    millisecond jobs makes one write for many jobs instead of two per job (each a request to an object store).
    """

    FLUSH_SECONDS = 0.5

    def __init__(self, js: JobStore, name: str) -> None:
        self.js, self.name = js, name
        self.lines: list[str] = []
        self.sent = 0
        self.last = 0.0

    def add(self, line: str) -> None:
        self.lines.append(line + "\n")
        if time.time() - self.last >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.sent < len(self.lines):
            self.js.write_message(self.name, "".join(self.lines).encode())
            self.sent, self.last = len(self.lines), time.time()


class Cancellations:
    """The leader's cancel message for the pack, read at most every CANCEL_CHECK_SECONDS."""

    def __init__(self, js: JobStore, name: str) -> None:
        self.js, self.name = js, name
        self.tokens: set[str] = set()
        self.read = 0.0

    def __contains__(self, token: str) -> bool:
        if time.time() - self.read >= CANCEL_CHECK_SECONDS:
            try:
                self.tokens = set(self.js.read_message(self.name).decode().split())
            except KeyError:
                self.tokens = set()
            self.read = time.time()
        return token in self.tokens


def _run_child(js: JobStore, config: Config, message: dict[str, Any], log_path: str, workflow_dir: str) -> int:
    """Fork a child that runs one job with its output in its own log; return the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setpgid(0, 0)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        from toil.runtime.worker.attempt import run_attempt

        code, _ = run_attempt(js, config, message, workflow_dir)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait_child(pid: int, token: str, cancelled: Cancellations, progress: Progress) -> tuple[int, bool]:
    """(exit code, killed): wait for the child, killing it if its token gets cancelled."""
    killed = False
    pause = 0.001  # short jobs end within milliseconds: look often at first, then every 0.2 s
    started = time.time()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status), killed
            return os.WEXITSTATUS(status), killed
        if time.time() - started >= Progress.FLUSH_SECONDS:
            progress.flush()  # the leader learns that a longer job is running
        if not killed and token in cancelled:
            killed = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(pause)
        pause = min(CANCEL_CHECK_SECONDS, pause * 2)


def run_pack(job_store_locator: str, pack_name: str) -> int:
    from toil.runtime.worker.attempt import warm_up
    from toil.runtime.worker.bootstrap import bootstrap_worker, open_worker_job_store, read_worker_message

    js = open_worker_job_store(job_store_locator)
    pack = read_worker_message(js, pack_name)
    env = bootstrap_worker(js, pack.get("main"))
    warm_up()
    progress, cancelled = Progress(js, pack["progress"]), Cancellations(js, pack["cancel"])
    keep_logs = bool(pack.get("keep_logs", True))
    for entry in pack["jobs"]:
        token = entry["token"]
        if token in cancelled:
            progress.add(f"skip {token}")
            continue
        message = read_worker_message(js, entry["message"])
        started = time.time()
        progress.add(f"start {token} {started:.3f}")
        log_path = entry.get("log") or os.path.join(env.workflow_dir, f"pack-{os.getpid()}-{_safe(token)}.log")
        pid = _run_child(js, env.config, message, log_path, env.workflow_dir)
        code, killed = _wait_child(pid, token, cancelled, progress)
        if not entry.get("log"):
            _store_log(js, token, log_path, keep=keep_logs or code != 0)
        progress.add(f"{'killed' if killed else 'end'} {token} {code} {time.time() - started:.3f}")
    progress.flush()
    return 0


def _store_log(js: JobStore, token: str, path: str, keep: bool) -> None:
    """Where the batch system gave no log file: the job's output as the job store message ``TOKEN.log``, if
    the leader will read it (the job failed, or every job's log is kept with --writeLogs)."""
    try:
        if keep:
            with open(path, "rb") as f:
                js.write_message(f"{_safe(token)}.log", f.read())
        os.unlink(path)
    except OSError:
        pass


def _safe(token: str) -> str:
    return token.replace("/", "_")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        sys.stderr.write("usage: python -m toil.runtime.batch.remote.packrun JOBSTORE PACK\n")
        return 2
    return run_pack(argv[0], argv[1])


if __name__ == "__main__":
    sys.exit(main())
