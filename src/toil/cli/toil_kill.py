"""``toil kill JOBSTORE``: stop a running workflow and every job its leader issued; the job store is kept."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import time
from typing import Any

from toil.cli.utility import open_existing_job_store, utility_parser
from toil.exceptions import ToilUserError


def parser() -> argparse.ArgumentParser:
    p = utility_parser(
        "toil kill",
        "Stop a running workflow: its leader stops and kills every job it issued. "
        "The job store is kept, so the workflow can be resumed with --restart.",
    )
    p.add_argument(
        "--force", action="store_true", help="Do not wait for the leader: kill it (SIGKILL) and the jobs it had issued."
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="How long to wait for the leader to stop before killing it. Default: 60.",
    )
    return p


def main(argv: list[str]) -> int:
    from toil.runtime.leader import KILL_FLAG
    from toil.runtime.observe.status import leader_alive

    args = parser().parse_args(argv)
    js = open_existing_job_store(args.jobStore, ": there is no workflow to kill")
    info = js.leader_info()
    status = _read_json(js.read_status())
    local = info.get("host") == socket.gethostname()
    pid = info.get("pid")
    if local and (not isinstance(pid, int) or isinstance(pid, bool) or not 1 < pid < 2**31):
        raise ToilUserError(f"the leader record of {js.locator} is damaged (pid {pid!r}): not signalling it")
    # A leader on this host holds the lease while it runs. When it is free, the pid in the leader record
    # belongs to a leader that died (and may since name another process): never signal it.
    if not leader_alive(info, status.get("time")) or (local and not js.leader_lease_held()):
        print(f"No leader is running on {js.locator}; nothing to kill")
        return 0
    js.set_flag(KILL_FLAG)  # seen by a leader on any host within a second
    if args.force:
        if not local:
            raise ToilUserError(f"--force needs to run on the leader's host {info.get('host')}")
        _signal(pid, signal.SIGKILL)
        _kill_issued_jobs(status)
    else:
        if local:
            _signal(pid, signal.SIGTERM)
        if not _wait_gone(js, info, args.timeout):
            if not local:
                raise ToilUserError(
                    f"the leader on {info.get('host')} did not stop within {args.timeout:g} s; "
                    f"run 'toil kill --force' on that host"
                )
            print(f"The leader (pid {pid}) did not stop within {args.timeout:g} s: killing it")
            _signal(pid, signal.SIGKILL)
            _kill_issued_jobs(status)
    _wait_gone(js, info, 30.0)
    _wait_for_workers(js, 30.0)
    if args.force:
        js.clear_flag(KILL_FLAG)  # the leader is dead; do not stop the next one
    print(f"Killed the workflow in {js.locator} (leader pid {pid}); rerun with --restart to resume it")
    return 0


def _read_json(raw: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    if not isinstance(data.get("time"), (int, float)) or isinstance(data.get("time"), bool):
        data.pop("time", None)
    return data


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        raise ToilUserError(f"not allowed to signal the leader (pid {pid}): run 'toil kill' as its user") from None


def _kill_issued_jobs(status: dict[str, Any]) -> None:
    """Kill the jobs a dead leader had issued, through its batch system."""
    from toil.runtime.batch import batch_system_class

    ids = [str(j["batch_id"]) for j in status.get("issued_jobs", ()) if j.get("batch_id")]
    if ids and status.get("batch_system"):
        batch_system_class(str(status["batch_system"])).kill_batch_ids(ids)


def _wait_gone(js: Any, info: dict[str, Any], timeout: float) -> bool:
    from toil.runtime.observe.status import leader_alive

    deadline = time.time() + timeout
    while time.time() < deadline:
        current = js.leader_info()
        if current != info or not leader_alive(info, None if current else 0.0):
            return True
        time.sleep(0.05)
    return False


def _wait_for_workers(js: Any, timeout: float) -> None:
    """Every job process holds the job store's workers lock: once it is free, no job of the workflow runs."""
    if not js.wait_for_workers(timeout):
        raise ToilUserError(f"job processes of the workflow in {js.locator} still run after {timeout:g} s")
