"""What batch systems that run each job on some other machine share: Slurm and Grid Engine now, Kubernetes
and Mesos next, each one subclass.

Each issued job becomes one engine job whose worker reads its message from the job store (written there by
``issue``, named in a ``Launch``) and leaves its result there. The leader polls the engine with one query per
polling interval for all of this workflow's jobs, found by their common label, so no argument list grows
with the run; a job the engine stops reporting for MISSING_POLLS polls is taken for lost. Every job still
known is cancelled when the leader exits, and a new leader first cancels what an old one left queued.

Short jobs are packed (packing.py): many run one after another in one allocation (packrun.py), each still
with its own result, log, state and retries. The pack's job list, its progress and the leader's
cancellations travel as job store messages too.

A subclass says how to start an engine job (``submit``), how to read the states of the workflow's jobs
(``query``), how to cancel (``cancel``; ``cancel_workflow`` by label where the engine can), where a job's
output goes (``log_target``) and, where the engine keeps logs itself, how to read one (``read_log``).
"""

from __future__ import annotations

import abc
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

from toil.compiler.ir import Resources
from toil.runtime.batch.base import BatchContext, BatchJob, BatchSystem, Completion
from toil.runtime.batch.remote.packing import Packer, PackingPolicy
from toil.runtime.config import Config
from toil.runtime.observe.logs import job_log_target

log = logging.getLogger("toil.batch.remote")

# A job the engine stops reporting is taken for lost after this many polls without news.
MISSING_POLLS = 30
# What an engine job runs, by Launch.kind: the worker of one job, or the runner of a pack.
WORKER_MODULES = {"job": "toil.cli.worker_main", "pack": "toil.runtime.batch.remote.packrun"}


@dataclass
class JobState:
    """What the engine says about one job."""

    batch_id: str
    state: str  # pending | running | done | failed | lost | oom | cancelled
    exit_code: int | None = None
    reason: str = ""
    permanent: bool = False  # it can never succeed as asked (e.g. it cannot be scheduled): no retry


@dataclass(frozen=True)
class Launch:
    """What one engine job must run: ``WORKER_MODULES[kind] JOB_STORE MESSAGE``, its output going to ``log``."""

    kind: str  # "job" or "pack"
    job_store: str  # the job store's locator
    message: str  # the name of its message in the job store
    log: str | None  # what log_target gave, or None


class SubmitRejected(Exception):
    """The engine refused a job at submission (e.g. larger than any node): it can never run as asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Submitted:
    """An issued job: held for packing, then submitted alone or in a pack."""

    job: BatchJob
    message: str  # its message's name in the job store
    log: str | None  # where its output goes (log_target), if the engine writes it somewhere
    batch_id: str = ""  # its own engine job, or its pack's
    submitted: float = field(default_factory=time.time)
    running: bool = False
    running_since: float | None = None
    killed: bool = False
    missing: int = 0
    packed: bool = False


@dataclass
class Pack:
    """Jobs that one allocation runs one after another; its progress message tells which ran."""

    batch_id: str
    tokens: list[str]
    messages: tuple[str, str, str]  # its job list, progress and cancellations
    seen: int = 0  # progress lines already read
    cancelled: set[str] = field(default_factory=set)
    missing: int = 0

    @property
    def progress(self) -> str:
        return self.messages[1]

    @property
    def cancel(self) -> str:
        return self.messages[2]


def one_line(text: str) -> str:
    return " ".join(text.strip().split())[:500] or "(no message)"


def workflow_label(config: Config) -> str:
    """The label every engine job of this workflow carries (a Slurm or Grid Engine job name)."""
    return f"toil_{(config.workflowID or 'wf').replace('-', '')[:12]}"


def safe_name(token: str) -> str:
    return token.replace("/", "_")


class RemoteBatchSystem(BatchSystem):
    """Jobs submitted one by one to an engine and watched with batched queries."""

    name = "remote"
    needs_shared_job_store = True
    supports_packing = True

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        self.label = workflow_label(self.config)
        self.jobs: dict[str, Submitted] = {}  # token -> submitted job (alone or in a pack)
        self.by_id: dict[str, str] = {}  # batch id of a job submitted alone -> token
        self.packs: dict[str, Pack] = {}  # batch id of a pack -> pack
        self.held: dict[str, Submitted] = {}  # token -> issued job not yet submitted
        policy = PackingPolicy.from_config(self.config)
        policy.enabled = policy.enabled and self.supports_packing
        self.packer = Packer(policy)
        self.done: list[Completion] = []
        self.poll_wait = float(self.config.statePollingWait or 1.0)
        self._next_poll = 0.0
        self.started = time.time()
        self.main_script = (self.job_store.read_meta() or {}).get("main")
        # Every job's log is read (--writeLogs), not only those of failed jobs.
        self.keep_logs = job_log_target(self.config)[0] is not None

    # ------------------------------------------------------------------ what each engine says
    @abc.abstractmethod
    def submit(self, job: BatchJob, launch: Launch) -> str:
        """Start one engine job running ``launch`` with ``job``'s resources; its id. SubmitRejected if refused."""

    @abc.abstractmethod
    def query(self) -> dict[str, JobState]:
        """The states of this workflow's jobs (those with its label), by batch id, in one batched query."""

    @abc.abstractmethod
    def cancel(self, ids: list[str]) -> None:
        """Cancel these engine jobs."""

    def cancel_workflow(self, ids: list[str]) -> None:
        """Cancel every job of this workflow (``ids``: those this leader knows); an engine that can cancel by
        the label in one call does so."""
        self.cancel(ids)

    def check_engine(self) -> None:  # noqa: B027 (optional)
        """Raise ToilUserError if the engine cannot be used from here (at start)."""

    def log_target(self, name: str) -> str | None:
        """Where the engine should write the output of the engine job ``name`` (given to submit in the Launch
        and kept as the Completion's log_path); None where the engine keeps it (then override read_log)."""
        return None

    def idle(self, seconds: float) -> bool:
        """Wait ``seconds`` for the next poll; True if the engine pushed news meanwhile (a watch event)."""
        time.sleep(seconds)
        return False

    def refine(self, st: JobState, sub: Submitted) -> JobState:
        """A final state, corrected with what the engine wrote in the job's log (e.g. an OOM kill)."""
        return st

    def watched_ids(self) -> list[str]:
        """Every engine job this leader waits on: jobs alone and packs."""
        return list(self.by_id) + list(self.packs)

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        self.check_engine()
        self.cancel_leftovers()

    def cancel_leftovers(self) -> None:
        """Jobs a previous leader of this workflow left in the queue: cancel them before starting anew.

        Their finished results are already in the job store, where the leader picks them up.
        """
        ids = [s.batch_id for s in self.query().values() if s.state in ("pending", "running")]
        if ids:
            log.info("Cancelling %d job(s) a previous leader of this workflow left in %s", len(ids), self.name)
            self.cancel(ids)

    def shutdown(self) -> None:
        """Cancel every job still in the engine (also on a crash-free stop: Toil's #5082)."""
        ids = self.watched_ids()
        if ids:
            self.cancel_workflow(ids)
        self.jobs.clear()
        self.by_id.clear()
        self.packs.clear()
        self.held.clear()

    def check_resources(self, resources: Resources, label: str) -> None:
        """The engine is the judge: an impossible job is rejected at submission with its reason."""

    # ------------------------------------------------------------------ issuing
    def issue(self, job: BatchJob) -> None:
        message = dict(job.message)
        if self.main_script:
            message["main"] = self.main_script
        name = safe_name(job.token)
        self.job_store.write_message(f"{name}.json", json.dumps(message).encode())
        sub = Submitted(job, f"{name}.json", self.log_target(name))
        if self.packer.offer(job):
            self._submit_alone(sub)
        else:
            self.held[job.token] = sub

    def _reject(self, sub: Submitted, reason: str) -> None:
        self.job_store.delete_message(sub.message)
        self.done.append(Completion(sub.job.token, 1, reason=f"{self.name} rejected the job: {reason}", permanent=True))

    def _submit_alone(self, sub: Submitted) -> None:
        try:
            batch_id = self.submit(sub.job, Launch("job", self.job_store.locator, sub.message, sub.log))
        except SubmitRejected as e:
            self._reject(sub, e.reason)
            return
        sub.batch_id, sub.submitted = batch_id, time.time()
        self.jobs[sub.job.token] = sub
        self.by_id[batch_id] = sub.job.token

    def _submit_pack(self, members: list[Submitted]) -> None:
        name = f"pack-{uuid.uuid4().hex[:12]}"
        messages = (f"{name}.json", f"{name}.progress", f"{name}.cancel")
        pack = {
            "main": self.main_script,
            "progress": messages[1],
            "cancel": messages[2],
            "keep_logs": self.keep_logs,
            "jobs": [{"token": s.job.token, "message": s.message, "log": s.log} for s in members],
        }
        self.job_store.write_message(messages[0], json.dumps(pack).encode())
        first = members[0].job
        carrier = BatchJob(name, "", f"pack of {len(members)} {first.name or 'jobs'}", first.resources, {})
        try:
            batch_id = self.submit(carrier, Launch("pack", self.job_store.locator, messages[0], self.log_target(name)))
        except SubmitRejected as e:
            self.job_store.delete_message(messages[0])
            for sub in members:
                self._reject(sub, e.reason)
            return
        self.packs[batch_id] = Pack(batch_id, [s.job.token for s in members], messages)
        for sub in members:
            sub.batch_id, sub.packed, sub.submitted = batch_id, True, time.time()
            self.jobs[sub.job.token] = sub

    def _release_held(self) -> None:
        """Submit what the packer has decided on: probes' followers, and full or waiting packs."""
        alone, packs = self.packer.due()
        for job in alone:
            self._submit_alone(self.held.pop(job.token))
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
            if self.idle(max(0.0, min(deadline, self._next_poll if busy else deadline) - now)):
                self._next_poll = 0.0  # the engine has news: poll now
        out, self.done = self.done, []
        return out

    def _poll(self) -> None:
        states = self.query()
        now = time.time()
        for token, sub in list(self.jobs.items()):
            if not sub.packed:
                self._job_state(token, sub, states.get(sub.batch_id), now)
        for pack in list(self.packs.values()):
            self._pack_progress(pack, states.get(pack.batch_id))

    def _job_state(self, token: str, sub: Submitted, st: JobState | None, now: float) -> None:
        if st is None:
            sub.missing += 1
            if sub.missing >= MISSING_POLLS:
                self._finish(token, JobState(sub.batch_id, "lost", None, "the scheduler forgot the job"))
            return
        sub.missing = 0
        sub.running = st.state == "running"
        if sub.running and sub.running_since is None:
            sub.running_since = now
        if st.state not in ("pending", "running"):
            ran = now - sub.running_since if sub.running_since is not None else self.poll_wait
            self.packer.observe(sub.job.name or sub.job.label, ran)
            self._finish(token, st)

    def _finish(self, token: str, st: JobState) -> None:
        sub = self.jobs.pop(token)
        if not sub.packed:
            self.by_id.pop(sub.batch_id, None)
            st = self.refine(st, sub)
        killed = sub.killed
        # A packed job without a log file of its own: its output is the message packrun left (if it failed, or
        # with --writeLogs: packrun keeps no other).
        kept = self.keep_logs or st.state != "done" or (st.exit_code or 0) != 0
        log_message = f"{safe_name(token)}.log" if sub.packed and sub.log is None and kept else None
        c = Completion(
            token,
            st.exit_code if st.state in ("done", "failed") else None,
            killed=killed,
            lost=st.state in ("lost", "cancelled") and not killed,
            oom=st.state == "oom",
            permanent=st.permanent,
            reason=st.reason or f"{self.name} job {sub.batch_id} {st.state}",
            log_path=sub.log,
            batch_id=sub.batch_id,
            log_message=log_message,
        )
        if st.state == "done" and st.exit_code is None:
            c.exit_code = 0
        self.done.append(c)
        self.job_store.delete_message(sub.message)

    # ------------------------------------------------------------------ packs
    def _pack_progress(self, pack: Pack, st: JobState | None) -> None:
        """Report the pack's jobs that ended since the last poll; when the allocation ended, the rest too."""
        for words in self._new_progress_lines(pack):
            self._pack_event(pack, words)
        if st is None:
            pack.missing += 1
            if pack.missing < MISSING_POLLS:
                return
            st = JobState(pack.batch_id, "lost", None, "the scheduler forgot the pack")
        else:
            pack.missing = 0
        if st.state in ("pending", "running"):
            return
        for token in pack.tokens:  # the allocation ended: whatever did not report ended with it
            sub = self.jobs.get(token)
            if sub is None:
                continue
            if sub.running:
                self._finish(
                    token,
                    JobState(
                        pack.batch_id,
                        st.state if st.state != "done" else "lost",
                        None,
                        f"its pack's allocation ended while it ran: {st.reason}",
                    ),
                )
            else:
                self._finish(token, JobState(pack.batch_id, "lost", None, "its pack ended before it started"))
        del self.packs[pack.batch_id]
        for name in pack.messages:
            self.job_store.delete_message(name)

    def _pack_event(self, pack: Pack, words: list[str]) -> None:
        """One progress line: ``start TOKEN TIME``, ``end|killed TOKEN CODE SECONDS`` or ``skip TOKEN``."""
        kind, token = words[0], words[1]
        sub = self.jobs.get(token)
        if sub is None:
            return
        if kind == "start":
            sub.running, sub.running_since = True, float(words[2])
        elif kind in ("end", "killed"):
            code, seconds = int(words[2]), float(words[3])
            self.packer.observe(sub.job.name or sub.job.label, seconds)
            state = "done" if code == 0 else "failed"
            self._finish(token, JobState(pack.batch_id, state, code, f"exit status {code}"))
        elif kind == "skip":
            self._finish(token, JobState(pack.batch_id, "cancelled", None, "cancelled before it started"))

    def _new_progress_lines(self, pack: Pack) -> list[list[str]]:
        """Progress lines the pack runner added since the last poll (it rewrites the whole message)."""
        try:
            data = self.job_store.read_message(pack.progress)
        except KeyError:
            return []
        lines = data[: data.rfind(b"\n") + 1].decode().splitlines()
        new, pack.seen = lines[pack.seen :], max(pack.seen, len(lines))
        return [line.split() for line in new if len(line.split()) >= 2]

    # ------------------------------------------------------------------ killing and reporting
    def kill(self, tokens: list[str]) -> None:
        wanted = set(tokens)
        for job in self.packer.withdraw(wanted):
            held = self.held.pop(job.token, None)
            if held is not None:
                self.job_store.delete_message(held.message)
            self.done.append(Completion(job.token, None, killed=True, reason="killed before it was submitted"))
        ids = []
        for token in wanted:
            sub = self.jobs.get(token)
            if sub is None:
                continue
            sub.killed = True
            if sub.packed:
                self._cancel_in_pack(self.packs[sub.batch_id], token)
            else:
                ids.append(sub.batch_id)
        if ids:
            self.cancel(ids)

    def _cancel_in_pack(self, pack: Pack, token: str) -> None:
        pack.cancelled.add(token)
        self.job_store.write_message(pack.cancel, "".join(t + "\n" for t in sorted(pack.cancelled)).encode())

    def issued_tokens(self) -> list[str]:
        return list(self.jobs) + list(self.held)

    def running_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if s.running]

    def queued_tokens(self) -> list[str]:
        return [t for t, s in self.jobs.items() if not s.running] + list(self.held)

    def batch_ids(self) -> dict[str, str]:
        return {t: s.batch_id for t, s in self.jobs.items()}

    def read_log(self, completion: Completion) -> bytes | None:
        name = completion.log_message
        if name is None:
            return super().read_log(completion)
        try:
            return self.job_store.read_message(name)
        except KeyError:
            return None

    def discard_log(self, completion: Completion) -> None:
        name = completion.log_message
        if name is None:
            super().discard_log(completion)
        else:
            self.job_store.delete_message(name)
