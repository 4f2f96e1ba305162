"""What HPC scheduler batch systems (Slurm, Grid Engine) share: submit, poll in batches, kill, cancel on exit.

Each issued job becomes one scheduler job running ``python -m toil.cli.worker_main JOBSTORE MESSAGE``;
the message and the job's log live in the job store (a shared file system), and the worker leaves its
result there. The leader polls the scheduler with one query per polling interval for all of this
workflow's jobs, found by their common job name, so no argument list grows with the run.

A subclass says how to submit (``submit_argv``), how to read the states of its jobs (``query``),
how to cancel (``cancel_argv``) and how to read the scheduler's verdicts (``JobState``).
"""
from __future__ import annotations

import abc
import json
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from toil.compiler.ir import Resources
from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchJob, BatchSystem, Completion

log = logging.getLogger("toil.batch.hpc")

COMMAND_TIMEOUT = 60.0
# A job the scheduler stops reporting is taken for lost after this many polls without news.
MISSING_POLLS = 30


@dataclass
class JobState:
    """What the scheduler says about one job."""

    batch_id: str
    state: str                 # pending | running | done | failed | lost | oom | cancelled
    exit_code: int | None = None
    reason: str = ""


@dataclass
class Submitted:
    job: BatchJob
    batch_id: str
    log_path: str
    message_path: str
    submitted: float = field(default_factory=time.time)
    running: bool = False
    killed: bool = False
    missing: int = 0


def run_command(argv: list[str], timeout: float = COMMAND_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
    """Run a scheduler command; a clear error if it is not installed."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise ToilUserError(f"cannot run {argv[0]}: it is not installed on this machine (is this a cluster "
                            f"head node?)") from None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"{argv[0]} did not answer within {timeout:g} s")
    if check and p.returncode != 0:
        raise ToilUserError(f"{shlex.join(argv[:2])} failed: {one_line(p.stderr or p.stdout)}")
    return p


def one_line(text: str) -> str:
    return " ".join(text.strip().split())[:500] or "(no message)"


class HPCBatchSystem(BatchSystem):
    """Jobs submitted one by one to a scheduler and watched with batched queries."""

    name = "hpc"
    command = ""              # the submit command, checked at start

    def __init__(self, config: Any, job_store: Any, workflow_dir: str, lock_path: str | None = None,
                 leader_fds: list[int] | None = None) -> None:
        self.config = config
        self.job_store = job_store
        self.workflow_dir = workflow_dir
        area = job_store.local_area("batch")
        if area is None:
            raise ToilUserError(f"the {self.name} batch system needs a file: job store on a file system its "
                                f"nodes share; {job_store.locator} is not one")
        self.area = area
        self.job_name = f"toil_{str(getattr(config, 'workflowID', '') or 'wf').replace('-', '')[:12]}"
        self.jobs: dict[str, Submitted] = {}           # token -> submitted job
        self.by_id: dict[str, str] = {}                 # batch id -> token
        self.done: list[Completion] = []
        self.poll_wait = float(getattr(config, "statePollingWait", None) or 1.0)
        self._next_poll = 0.0
        self.started = time.time()
        self.main_script = (job_store.read_meta() or {}).get("main")

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        if shutil.which(self.command) is None:
            raise ToilUserError(f"the {self.name} batch system needs '{self.command}', which is not on PATH")
        self.cancel_leftovers()

    def cancel_leftovers(self) -> None:
        """Jobs a previous leader of this workflow left in the queue: cancel them before starting anew.

        Their finished results are already in the job store, where the leader picks them up.
        """
        ids = [s.batch_id for s in self.query().values() if s.state in ("pending", "running")]
        if ids:
            log.info("Cancelling %d job(s) a previous leader of this workflow left in %s", len(ids), self.name)
            run_command(self.cancel_argv(ids))

    def shutdown(self) -> None:
        """Cancel every job still in the scheduler (also on a crash-free stop: Toil's #5082)."""
        ids = [s.batch_id for s in self.jobs.values()]
        if ids:
            run_command(self.cancel_argv(ids))
        self.jobs.clear()
        self.by_id.clear()

    # ------------------------------------------------------------------ resources
    def check_resources(self, resources: Resources, label: str) -> None:
        """The scheduler is the judge: an impossible job is rejected at submission with its reason."""

    @staticmethod
    def cores(resources: Resources) -> int:
        return max(1, math.ceil(resources.cores - 1e-9))

    @staticmethod
    def memory_mib(resources: Resources) -> int:
        return max(1, math.ceil(resources.memory / 2 ** 20))

    # ------------------------------------------------------------------ issuing
    def issue(self, job: BatchJob) -> None:
        message = dict(job.message)
        if self.main_script:
            message["main"] = self.main_script
        safe = job.token.replace("/", "_")
        message_path = os.path.join(self.area, f"{safe}.json")
        log_path = os.path.join(self.area, f"{safe}.log")
        with open(message_path, "w", encoding="utf-8") as f:
            json.dump(message, f)
        command = [sys.executable, "-m", "toil.cli.worker_main", self.job_store.locator, message_path]
        argv = self.submit_argv(job, command, log_path)
        p = run_command(argv)
        batch_id = self.parse_submission(p.stdout) if p.returncode == 0 else None
        if batch_id is None:
            reason = one_line(p.stderr or p.stdout)
            self.done.append(Completion(job.token, 1, reason=f"{self.name} rejected the job: {reason}",
                                        permanent=True, log_path=None))
            return
        self.jobs[job.token] = Submitted(job, batch_id, log_path, message_path)
        self.by_id[batch_id] = job.token

    # ------------------------------------------------------------------ watching
    def wait(self, timeout: float) -> list[Completion]:
        deadline = time.time() + timeout
        while not self.done:
            now = time.time()
            if now >= self._next_poll and self.jobs:
                self._poll()
                self._next_poll = time.time() + self.poll_wait
                continue
            if now >= deadline:
                break
            time.sleep(max(0.0, min(deadline, self._next_poll if self.jobs else deadline) - now))
        out, self.done = self.done, []
        return out

    def _poll(self) -> None:
        states = self.query()
        for token, sub in list(self.jobs.items()):
            st = states.get(sub.batch_id)
            if st is None:
                sub.missing += 1
                if sub.missing >= MISSING_POLLS:
                    self._finish(token, JobState(sub.batch_id, "lost", None, "the scheduler forgot the job"))
                continue
            sub.missing = 0
            sub.running = st.state == "running"
            if st.state not in ("pending", "running"):
                self._finish(token, st)

    def _finish(self, token: str, st: JobState) -> None:
        sub = self.jobs.pop(token)
        self.by_id.pop(sub.batch_id, None)
        killed = sub.killed
        c = Completion(token, st.exit_code if st.state in ("done", "failed") else None,
                       killed=killed, lost=st.state in ("lost", "cancelled") and not killed,
                       oom=st.state == "oom", reason=st.reason or f"{self.name} job {sub.batch_id} {st.state}",
                       log_path=sub.log_path, extra={"batch_id": sub.batch_id})
        if st.state == "done" and st.exit_code is None:
            c.exit_code = 0
        self.done.append(c)
        try:
            os.unlink(sub.message_path)
        except OSError:
            pass

    def kill(self, tokens: list[str]) -> None:
        ids = []
        for token in tokens:
            sub = self.jobs.get(token)
            if sub is not None:
                sub.killed = True
                ids.append(sub.batch_id)
        if ids:
            run_command(self.cancel_argv(ids))

    def discard_log(self, completion: Completion) -> None:
        super().discard_log(completion)

    def issued_tokens(self) -> list[str]:
        return list(self.jobs)

    def running_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if s.running]

    def queued_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if not s.running]

    def batch_ids(self) -> dict[str, str]:
        return {t: s.batch_id for t, s in self.jobs.items()}

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        if ids:
            run_command(cls.cancel_argv(ids))

    # ------------------------------------------------------------------ what each scheduler says
    @abc.abstractmethod
    def submit_argv(self, job: BatchJob, command: list[str], log_path: str) -> list[str]: ...

    @abc.abstractmethod
    def parse_submission(self, stdout: str) -> str | None:
        """The job id the submit command printed, or None."""

    @abc.abstractmethod
    def query(self) -> dict[str, JobState]:
        """The states of this workflow's jobs, by batch id, in one batched query (plus a fallback)."""

    @classmethod
    @abc.abstractmethod
    def cancel_argv(cls, ids: list[str]) -> list[str]: ...


def extra_args(config: Any, option: str, env: str) -> list[str]:
    """User arguments for the submit command: the option, else its environment variable (shell-split)."""
    value = getattr(config, option, None) or os.environ.get(env, "")
    return shlex.split(value) if value else []
