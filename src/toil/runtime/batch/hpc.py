"""What HPC scheduler batch systems (Slurm, Grid Engine) share: submit, poll in batches, kill, cancel on exit.

Each issued job becomes one scheduler job running ``python -m toil.cli.worker_main JOBSTORE MESSAGE``;
the message and the job's log live in the job store (a shared file system), and the worker leaves its
result there. The leader polls the scheduler with one query per polling interval for all of this
workflow's jobs, found by their common job name, so no argument list grows with the run.

Short jobs are packed (packing.py): many run one after another in one allocation (packrun.py), each
still with its own result, log, state and retries.

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
import uuid
from dataclasses import dataclass, field
from typing import Any

from toil.compiler.ir import Resources
from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchJob, BatchSystem, Completion
from toil.runtime.batch.packing import Packer, PackingPolicy

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
    batch_id: str                 # its own scheduler job, or its pack's
    log_path: str
    message_path: str
    submitted: float = field(default_factory=time.time)
    running: bool = False
    running_since: float | None = None
    killed: bool = False
    missing: int = 0
    packed: bool = False


@dataclass
class Pack:
    """Jobs that one allocation runs one after another; its progress file tells which ran."""

    batch_id: str
    tokens: list[str]
    progress: str
    cancel: str
    offset: int = 0
    missing: int = 0


def run_command(argv: list[str], timeout: float = COMMAND_TIMEOUT, check: bool = False,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a scheduler command; a clear error if it is not installed."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
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
    needs_shared_job_store = True

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
        self.jobs: dict[str, Submitted] = {}           # token -> submitted job (alone or in a pack)
        self.by_id: dict[str, str] = {}                 # batch id of a job submitted alone -> token
        self.packs: dict[str, Pack] = {}                # batch id of a pack -> pack
        self.held: dict[str, tuple[BatchJob, str, str]] = {}   # token -> (job, message, log) not yet submitted
        self.packer = Packer(PackingPolicy.from_config(config))
        self.done: list[Completion] = []
        self.poll_wait = float(getattr(config, "statePollingWait", None) or 1.0)
        self._next_poll = 0.0
        self.started = time.time()
        self.main_script = (job_store.read_meta() or {}).get("main")

    def watched_ids(self) -> list[str]:
        """Every scheduler job this leader waits on: jobs alone and packs."""
        return list(self.by_id) + list(self.packs)

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
        ids = self.watched_ids()
        if ids:
            run_command(self.cancel_argv(ids))
        self.jobs.clear()
        self.by_id.clear()
        self.packs.clear()
        self.held.clear()

    # ------------------------------------------------------------------ resources
    def check_resources(self, resources: Resources, label: str) -> None:
        """The scheduler is the judge: an impossible job is rejected at submission with its reason."""

    @staticmethod
    def cores(resources: Resources) -> int:
        return max(1, math.ceil(resources.cores - 1e-9))

    @staticmethod
    def memory_mib(resources: Resources) -> int:
        """The memory to ask for, in MiB: the job's, but never less than a worker needs to start.

        The worker (a Python interpreter with the front end's libraries) takes about 60 MiB before the job
        does anything, and a scheduler that enforces memory counts it: a WDL task asking for 50 MiB would
        be killed before its command starts. TOIL_HPC_MIN_MEMORY (default 256Mi) sets the floor.
        """
        from toil.lib.conversions import human2bytes
        floor = human2bytes(os.environ.get("TOIL_HPC_MIN_MEMORY", "256Mi"))
        return max(1, math.ceil(max(resources.memory, floor) / 2 ** 20))

    # ------------------------------------------------------------------ issuing
    def issue(self, job: BatchJob) -> None:
        message = dict(job.message)
        if self.main_script:
            message["main"] = self.main_script
        safe = job.token.replace("/", "_")
        message_path = os.path.join(self.area, f"{safe}.json")
        log_path = os.path.join(self.area, f"{safe}.log")
        with open(os.open(message_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            json.dump(message, f)
        if self.packer.offer(job):
            self._submit_alone(job, message_path, log_path)
        else:
            self.held[job.token] = (job, message_path, log_path)

    def _submit(self, job: BatchJob, command: list[str], log_path: str) -> tuple[str | None, str]:
        """Submit one scheduler job: (batch id, or None and the scheduler's reason)."""
        # The scheduler appends to its output file, keeping the mode: made here, it is private whatever the umask.
        os.close(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        p = run_command(self.submit_argv(job, command, log_path), env=submit_environment(self.config))
        batch_id = self.parse_submission(p.stdout) if p.returncode == 0 else None
        return batch_id, one_line(p.stderr or p.stdout)

    def _reject(self, job: BatchJob, reason: str) -> None:
        self.done.append(Completion(job.token, 1, reason=f"{self.name} rejected the job: {reason}", permanent=True))

    def _submit_alone(self, job: BatchJob, message_path: str, log_path: str) -> None:
        command = [sys.executable, "-m", "toil.cli.worker_main", self.job_store.locator, message_path]
        batch_id, reason = self._submit(job, command, log_path)
        if batch_id is None:
            self._reject(job, reason)
            return
        self.jobs[job.token] = Submitted(job, batch_id, log_path, message_path)
        self.by_id[batch_id] = job.token

    def _submit_pack(self, members: list[tuple[BatchJob, str, str]]) -> None:
        pack_name = f"pack-{uuid.uuid4().hex[:12]}"
        base = os.path.join(self.area, pack_name)
        progress, cancel = base + ".progress", base + ".cancel"
        pack = {"main": self.main_script, "progress": progress, "cancel": cancel,
                "jobs": [{"token": j.token, "message": m, "log": lg} for j, m, lg in members]}
        with open(os.open(base + ".json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            json.dump(pack, f)
        first = members[0][0]
        carrier = BatchJob(pack_name, "", f"pack of {len(members)} {first.name or 'jobs'}", first.resources, {})
        command = [sys.executable, "-m", "toil.runtime.batch.packrun", self.job_store.locator, base + ".json"]
        batch_id, reason = self._submit(carrier, command, base + ".log")
        if batch_id is None:
            for job, _, _ in members:
                self._reject(job, reason)
            return
        self.packs[batch_id] = Pack(batch_id, [j.token for j, _, _ in members], progress, cancel)
        for job, message_path, log_path in members:
            self.jobs[job.token] = Submitted(job, batch_id, log_path, message_path, packed=True)

    def _release_held(self) -> None:
        """Submit what the packer has decided on: probes' followers, and full or waiting packs."""
        alone, packs = self.packer.due()
        for job in alone:
            _, message_path, log_path = self.held.pop(job.token)
            self._submit_alone(job, message_path, log_path)
        for jobs in packs:
            self._submit_pack([self.held.pop(job.token) for job in jobs])

    # ------------------------------------------------------------------ watching
    def wait(self, timeout: float) -> list[Completion]:
        deadline = time.time() + timeout
        self._release_held()
        while not self.done:
            now = time.time()
            if now >= self._next_poll and (self.jobs or self.held):
                self._poll()
                self._release_held()
                self._next_poll = time.time() + self.poll_wait
                continue
            if now >= deadline:
                break
            busy = self.jobs or self.held
            time.sleep(max(0.0, min(deadline, self._next_poll if busy else deadline) - now))
        out, self.done = self.done, []
        return out

    def _poll(self) -> None:
        states = self.query()
        now = time.time()
        for token, sub in list(self.jobs.items()):
            if sub.packed:
                continue
            st = states.get(sub.batch_id)
            if st is None:
                sub.missing += 1
                if sub.missing >= MISSING_POLLS:
                    self._finish(token, JobState(sub.batch_id, "lost", None, "the scheduler forgot the job"))
                continue
            sub.missing = 0
            sub.running = st.state == "running"
            if sub.running and sub.running_since is None:
                sub.running_since = now
            if st.state not in ("pending", "running"):
                ran = now - sub.running_since if sub.running_since is not None else self.poll_wait
                self.packer.observe(sub.job.name or sub.job.label, ran)
                self._finish(token, st)
        for pack in list(self.packs.values()):
            self._pack_progress(pack, states.get(pack.batch_id))

    def _finish(self, token: str, st: JobState) -> None:
        sub = self.jobs.pop(token)
        if not sub.packed:
            self.by_id.pop(sub.batch_id, None)
            st = self.refine(st, sub.log_path)
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

    # ------------------------------------------------------------------ packs
    def _pack_progress(self, pack: Pack, st: JobState | None) -> None:
        """Report the pack's jobs that ended since the last poll; when the allocation ended, the rest too."""
        for words in self._new_progress_lines(pack):
            kind, token = words[0], words[1]
            sub = self.jobs.get(token)
            if sub is None:
                continue
            if kind == "start":
                sub.running, sub.running_since = True, float(words[2])
            elif kind in ("end", "killed"):
                code, seconds = int(words[2]), float(words[3])
                self.packer.observe(sub.job.name or sub.job.label, seconds)
                state = "done" if code == 0 else "failed"
                self._finish(token, JobState(pack.batch_id, state, code, f"exit status {code}"))
            elif kind == "skip":
                self._finish(token, JobState(pack.batch_id, "cancelled", None, "cancelled before it started"))
        if st is None:
            pack.missing += 1
            if pack.missing < MISSING_POLLS:
                return
            st = JobState(pack.batch_id, "lost", None, "the scheduler forgot the pack")
        else:
            pack.missing = 0
        if st.state in ("pending", "running"):
            return
        for token in pack.tokens:        # the allocation ended: whatever did not report ended with it
            sub = self.jobs.get(token)
            if sub is None:
                continue
            if sub.running:
                self._finish(token, JobState(pack.batch_id, st.state if st.state != "done" else "lost",
                                             None, f"its pack's allocation ended while it ran: {st.reason}"))
            else:
                self._finish(token, JobState(pack.batch_id, "lost", None, "its pack ended before it started"))
        del self.packs[pack.batch_id]

    def _new_progress_lines(self, pack: Pack) -> list[list[str]]:
        try:
            with open(pack.progress, "rb") as f:
                f.seek(pack.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        pack.offset += end
        return [line.split() for line in data[:end].decode().splitlines() if len(line.split()) >= 2]

    # ------------------------------------------------------------------ killing and reporting
    def kill(self, tokens: list[str]) -> None:
        wanted = set(tokens)
        for job in self.packer.withdraw(wanted):
            self.held.pop(job.token, None)
            self.done.append(Completion(job.token, None, killed=True, reason="killed before it was submitted"))
        ids = []
        for token in wanted:
            sub = self.jobs.get(token)
            if sub is None:
                continue
            sub.killed = True
            if sub.packed:
                cancel = os.open(self.packs[sub.batch_id].cancel, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with open(cancel, "a", encoding="utf-8") as f:
                    f.write(token + "\n")
            else:
                ids.append(sub.batch_id)
        if ids:
            run_command(self.cancel_argv(ids))

    def issued_tokens(self) -> list[str]:
        return list(self.jobs) + list(self.held)

    def running_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if s.running]

    def queued_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if not s.running] + list(self.held)

    def batch_ids(self) -> dict[str, str]:
        return {t: s.batch_id for t, s in self.jobs.items()}

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        if ids:
            run_command(cls.cancel_argv(sorted(set(ids))))

    # ------------------------------------------------------------------ what each scheduler says
    def refine(self, st: JobState, log_path: str) -> JobState:
        """A final state, corrected with what the scheduler wrote in the job's log (e.g. an OOM kill)."""
        return st

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


def submit_environment(config: Any) -> dict[str, str]:
    """The environment jobs are submitted with (Slurm exports it, qsub -V passes it on): the leader's, plus the
    --setEnv values the job store does not keep (secrets), which a worker takes from what it inherits."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (getattr(config, "environment", None) or {}).items() if v is not None})
    return env


def extra_args(config: Any, option: str, env: str) -> list[str]:
    """User arguments for the submit command: the option, else its environment variable (shell-split)."""
    value = getattr(config, option, None) or os.environ.get(env, "")
    return shlex.split(value) if value else []
