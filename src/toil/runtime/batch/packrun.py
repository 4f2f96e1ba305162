"""Run a pack of jobs in one scheduler allocation, one after another (see packing.py).

Usage: ``python -m toil.runtime.batch.packrun JOBSTORE PACKFILE``. The pack file lists each job's
token, message file and log file. Each job runs in a child process forked from this warm one, its
output in its own log, its result in the job store as if it had run alone. Progress lines go to the
pack's progress file, which the leader reads at each poll::

    start TOKEN TIME        end TOKEN EXIT_CODE SECONDS        skip TOKEN

A token listed in the pack's cancel file is skipped, or killed if it is running.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

CANCEL_CHECK_SECONDS = 0.2


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _cancelled(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return set(f.read().split())
    except OSError:
        return set()


def _run_child(js: Any, config: Any, message: dict[str, Any], log_path: str, workflow_dir: str) -> int:
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
        from toil.runtime.worker import run_attempt
        code, _ = run_attempt(js, config, message, workflow_dir)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait_child(pid: int, token: str, cancel_path: str) -> tuple[int, bool]:
    """(exit code, killed): wait for the child, killing it if its token gets cancelled."""
    killed = False
    pause = 0.001        # short jobs end within milliseconds: look often at first, then every 0.2 s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status), killed
            return os.WEXITSTATUS(status), killed
        if not killed and token in _cancelled(cancel_path):
            killed = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(pause)
        pause = min(CANCEL_CHECK_SECONDS, pause * 2)


def run_pack(job_store_locator: str, pack_path: str) -> int:
    from toil.cli.worker_main import adopt_main_module
    from toil.runtime.config import Config
    from toil.runtime.jobstores import normalize_locator, open_job_store
    from toil.runtime.worker import warm_up

    with open(pack_path, encoding="utf-8") as f:
        pack = json.load(f)
    js = open_job_store(normalize_locator(job_store_locator))
    config = Config.from_json(js.read_meta()["config"])
    js.config = config  # type: ignore[attr-defined]
    adopt_main_module(pack.get("main"))
    warm_up()
    workflow_dir = os.path.join(config.work_dir(), f"toil-{config.workflowID}")
    os.makedirs(workflow_dir, mode=0o700, exist_ok=True)
    progress, cancel = pack["progress"], pack["cancel"]
    for entry in pack["jobs"]:
        token = entry["token"]
        if token in _cancelled(cancel):
            _append(progress, f"skip {token}")
            continue
        with open(entry["message"], encoding="utf-8") as f:
            message = json.load(f)
        started = time.time()
        _append(progress, f"start {token} {started:.3f}")
        pid = _run_child(js, config, message, entry["log"], workflow_dir)
        code, killed = _wait_child(pid, token, cancel)
        _append(progress, f"{'killed' if killed else 'end'} {token} {code} {time.time() - started:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        sys.stderr.write("usage: python -m toil.runtime.batch.packrun JOBSTORE PACKFILE\n")
        return 2
    return run_pack(argv[0], argv[1])


if __name__ == "__main__":
    sys.exit(main())
