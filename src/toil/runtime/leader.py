"""The leader: drives the scheduling state machine with a batch system and a job store.

One loop, single-threaded: issue ready nodes; wait for completions; turn
each worker result into journal records; make them durable (one fsync for
the whole batch); apply them to the state; then act on the effects (delete
files, stop services, kill jobs). Nothing is acted on before it is durable,
so a leader killed at any instant resumes with --restart without losing
recorded work or running a recorded job again.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ParamSpec, TypeVar, assert_never

from toil.compiler.ir import NodeSpec, Resources, decode_value
from toil.exceptions import FailedJobsException, InsufficientSystemResources, JobStoreWriteError, WorkflowInterrupted
from toil.runtime import faults
from toil.runtime.batch.base import BatchJob, BatchSystem, Completion
from toil.runtime.config import Config
from toil.runtime.jobstores import retry
from toil.runtime.jobstores.base import JobStore
from toil.runtime.jobstores.journal import Journal, decode_line
from toil.runtime.observe.logs import JobLogs, job_log_target, write_job_log
from toil.runtime.observe.statsdata import EndStatLine, RunStatLine
from toil.runtime.protocol import (
    Attempt,
    ChainHint,
    DeleteFiles,
    Effect,
    FailRecord,
    JsonDict,
    KillNodes,
    RecordToJournal,
    ReviveRecord,
    ScheduleRetry,
    StopServices,
    SvcStartedRecord,
    WorkerMessage,
    WorkerResult,
    gather_results,
)
from toil.runtime.scheduling import Node, WorkflowState, attempt_resources

log = logging.getLogger("toil.leader")

KILL_FLAG = "toil-kill"  # set by 'toil kill'; the leader stops when it sees it
SERVICE_POLL_SECONDS = 0.05
IDLE_WAIT_SECONDS = 1.0
# The leader looks for 'toil kill''s flag (a request on an object store) every KILL_CHECK_SECONDS or every
# KILL_CHECK_LOOPS passes of its loop, whichever comes first.
KILL_CHECK_SECONDS = 0.5
KILL_CHECK_LOOPS = 50
# A journal whose sync takes longer than this (an object store) makes the leader gather completions for about
# one sync's time before committing them, so one write records many (at most MAX_GATHER_SECONDS of waiting).
GATHER_THRESHOLD_SECONDS = 0.002
MAX_GATHER_SECONDS = 0.05
# Such a sync also runs in a thread while the leader keeps the batch system going (polling it this often): workers
# that finish a job get the next queued one instead of idling for the sync's round trip.
OVERLAP_POLL_SECONDS = 0.002
BACKOFF_MAX = 600.0
# Return values that runs' records carry stay in the leader's memory and snapshots for the rest of the workflow:
# past this many bytes of them, the leader stores a value as an object of its own before journaling its run.
INLINE_RETURNS_BUDGET = 64 << 20
P = ParamSpec("P")
T = TypeVar("T")


def retry_delay(attempt: int, base: float = 2.0, factor: float = 3.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): --retryBackoffSeconds (2 s), then
    x --retryBackoffFactor (3) each time, at most 10 minutes."""
    return min(BACKOFF_MAX, base * factor ** max(0, attempt - 1))


class Leader:
    def __init__(
        self, job_store: JobStore, config: Config, state: WorkflowState, batch: BatchSystem, journal: Journal
    ) -> None:
        self.job_store = job_store
        self.config = config
        self.state = state
        self.batch = batch
        self.journal = journal
        self.issued: dict[str, Attempt] = {}  # token -> the attempt out with the batch system
        self.services_starting: dict[str, str] = {}  # service node id -> token
        self.timers: list[tuple[float, str]] = []  # (due, node id) for retries waiting out their backoff
        self.not_before: dict[str, float] = {}
        self.failure_notes: dict[str, str] = {}  # node id -> why it failed (last attempt)
        self._pending_records: list[JsonDict] = []
        self._deadlock_since: float | None = None
        self._stranded: set[str] = set()  # services stopped because their owners cannot finish
        self.completed_runs = 0
        self._next_kill_check = 0.0
        self._loops_since_kill_check = 0
        self._sync_seconds = 0.0  # how long a journal sync takes (moving average)
        self._inline_bytes = sum(len(v) for v in state.returns.values())
        self._early: list[Completion] = []  # completions that arrived during a sync, for the next commit
        self._syncer: ThreadPoolExecutor | None = None
        from toil.runtime.observe.monitor import make_monitor

        self.monitor = make_monitor(self, config)

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        """Run the workflow to its end, publishing its progress (status file, progress bar, metrics)."""
        self.job_store.clear_flag(KILL_FLAG)  # a kill of an earlier run is not meant for this one
        self._stats_line(
            {
                "t": "run",
                "attempt": self.config.workflowAttemptNumber,
                "start": time.time(),
                "batchSystem": self.batch.name,
                "defaultCores": self.config.defaultCores,
                "defaultMemory": self.config.defaultMemory,
                "maxCores": self.config.maxCores,
            }
        )
        outcome = "failed"
        try:
            self._loop()
            outcome = "completed"
        except WorkflowInterrupted:
            outcome = "stopped"
            raise
        finally:
            if self._syncer is not None:
                self._syncer.shutdown(wait=False, cancel_futures=True)
            self.monitor.close(outcome)
            self._stats_line(
                {
                    "t": "end",
                    "attempt": self.config.workflowAttemptNumber,
                    "end": time.time(),
                    "outcome": outcome,
                    "leader_cpu": time.process_time(),
                }
            )

    def _stats_line(self, record: RunStatLine | EndStatLine) -> None:
        if self.config.stats:
            self._best_effort(self.job_store.append_stats, [json.dumps(record).encode() + b"\n"])

    def _best_effort(self, write: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
        """Reports (logs, stats) must not stop a workflow, e.g. on a full disk: the journal's write will."""
        try:
            write(*args, **kwargs)
        except OSError as e:
            log.warning("Could not record %s in the job store: %s", write.__name__, e.strerror or e)

    def _loop(self) -> None:
        self._rescue_results()
        if self.state.failed:
            log.info(
                "Retrying %d job(s) that had failed: %s",
                len(self.state.failed),
                ", ".join(list(self.state.failed.values())[:5]),
            )
            self._commit([ReviveRecord().to_json()])
        while True:
            self._issue_ready()
            if not self.issued and not self.timers and not self._pending_records:
                if self.state.finished or not self.state.has_ready():
                    break
            early, self._early = self._early, []
            completions = self._gather(early + self.batch.wait(0.0 if early else self._timeout()))
            records: list[JsonDict] = list(self._pending_records)
            self._pending_records.clear()
            result_files = []
            for c in completions:
                records.extend(self._collect(c))
                if c.result is None:
                    result_files.append(c.token)  # the worker left its result in the job store
            records.extend(self._poll_services())
            self._commit(records)
            for token in result_files:
                self.job_store.delete_result(token)
            if not self._early:  # results that arrived during the sync are not journaled: their logs must stay
                self.batch.after_commit()
            self._check_deadlock()
            self._stop_stranded_services()
            self.monitor.tick()
            if self._kill_requested():
                raise WorkflowInterrupted(
                    f"stopped by 'toil kill': running jobs were killed and the job store "
                    f"{self.job_store.locator} is kept; rerun with --restart to continue"
                )
        retried = retry.summary()
        if retried:
            log.warning("Leader: %s", retried)
        self._finish()

    def _kill_requested(self) -> bool:
        now = time.monotonic()
        self._loops_since_kill_check += 1
        if now < self._next_kill_check and self._loops_since_kill_check < KILL_CHECK_LOOPS:
            return False
        self._next_kill_check, self._loops_since_kill_check = now + KILL_CHECK_SECONDS, 0
        return self._overlapped(lambda: self.job_store.has_flag(KILL_FLAG))

    def _gather(self, completions: list[Completion]) -> list[Completion]:
        """With a slow journal, wait up to one sync's time for more of the running jobs to finish."""
        budget = min(self._sync_seconds, MAX_GATHER_SECONDS)
        if not completions or budget < GATHER_THRESHOLD_SECONDS:
            return completions
        end = time.monotonic() + budget
        while len(completions) < len(self.issued) and (left := end - time.monotonic()) > 0:
            completions.extend(self.batch.wait(left))
        return completions

    def _timeout(self) -> float:
        t = IDLE_WAIT_SECONDS
        if self.services_starting:
            t = SERVICE_POLL_SECONDS
        if self.timers:
            t = min(t, max(0.0, self.timers[0][0] - time.time()))
        return t

    def _commit(self, records: list[JsonDict]) -> None:
        """Journal records durably, then apply them and act on their effects (repeat for requested records)."""
        while records:
            self.journal.append(records)
            started = time.monotonic()
            try:
                self._sync()
            except OSError as e:
                raise JobStoreWriteError(
                    f"cannot write to the job store {self.job_store.locator}: {e.strerror or e}; the workflow "
                    f"stopped with its state intact: fix this and rerun with --restart"
                ) from None
            self._sync_seconds = 0.8 * self._sync_seconds + 0.2 * (time.monotonic() - started)
            faults.maybe_crash("leader-after-commit")
            for rec in records:
                self.state.apply(rec)
            records = self._perform(self.state.drain_effects())
        self._maybe_snapshot()

    def _sync(self) -> None:
        """Make the appended records durable; a slow sync overlaps with the batch system's dispatching.

        Nothing is applied or issued before the sync returns: completions that
        arrive meanwhile wait in ``_early`` for the next commit.
        """
        self._overlapped(self.journal.sync)

    def _overlapped(self, call: Callable[[], T]) -> T:
        """Make a job store call; on a store whose calls are round trips, keep the batch system going meanwhile."""
        if self._sync_seconds < GATHER_THRESHOLD_SECONDS:
            return call()
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(1, thread_name_prefix="toil-leader-io")
        future = self._syncer.submit(call)
        while not future.done():
            self._early.extend(self.batch.wait(OVERLAP_POLL_SECONDS))
        return future.result()

    def _perform(self, effects: list[Effect]) -> list[JsonDict]:
        """Act on the state machine's effects; return the records they ask to journal."""
        more: list[JsonDict] = []
        for effect in effects:
            match effect:
                case DeleteFiles(file_ids):
                    for file_id in file_ids:
                        self.job_store.delete_file(file_id)
                case StopServices(node_ids):
                    for sid in node_ids:
                        self.job_store.set_flag(f"{sid}.stop")
                case KillNodes(node_ids):
                    more.extend(self._kill_nodes(node_ids))
                case ScheduleRetry(node_id, attempt):
                    self.not_before[node_id] = time.time() + self._retry_delay(attempt)
                case RecordToJournal(record):
                    more.append(record.to_json())
                case _:
                    assert_never(effect)
        return more

    def _kill_nodes(self, node_ids: list[str]) -> list[JsonDict]:
        wanted = set(node_ids)
        self.batch.kill([t for t, a in self.issued.items() if a.node_id in wanted])
        records = []
        # retries still waiting out their backoff were never issued: stop them here
        for due, node_id in list(self.timers):
            if node_id in wanted:
                self.timers.remove((due, node_id))
                node = self.state.nodes.get(node_id)
                if node is not None:
                    records.append(FailRecord(Attempt(node_id, node.epoch), counts=False).to_json())
        heapq.heapify(self.timers)
        return records

    def _maybe_snapshot(self) -> None:
        since = self.journal.seq - self.journal.base_seq
        if since > max(20000, 2 * len(self.state.nodes)):
            self.journal.write_snapshot(self.state.to_json())

    # ------------------------------------------------------------------ issuing
    def _issue_ready(self) -> None:
        now = time.time()
        while self.timers and self.timers[0][0] <= now:
            _, node_id = heapq.heappop(self.timers)
            node = self.state.nodes.get(node_id)
            if node is not None:
                self._submit(node)
        for node in self.state.take_ready():
            due = self.not_before.pop(node.id, 0.0)
            if due > now:
                heapq.heappush(self.timers, (due, node.id))
            else:
                self._submit(node)

    def _resources(self, node: Node) -> Resources:
        return attempt_resources(node)

    def _submit(self, node: Node) -> None:
        resources = self._resources(node)
        try:
            self.batch.check_resources(resources, node.spec.label())
            self.monitor.admit(resources, node.spec.label())
        except InsufficientSystemResources as e:
            log.error("%s", e)
            self.failure_notes[node.id] = str(e)
            self._pending_records.append(FailRecord(Attempt(node.id, node.epoch), permanent=True).to_json())
            return
        attempt = Attempt(node.id, node.epoch)
        hint = self._chain_hint(node)
        reads = node.spec.reads + (list(hint.spec.get("rd", ())) if hint else [])
        message = WorkerMessage(attempt, node.spec, resources, hint, values=self.state.values_for(reads))
        self.issued[attempt.token] = attempt
        if node.spec.kind == "service":
            self.services_starting[node.id] = attempt.token
        self.batch.issue(
            BatchJob(
                attempt.token,
                node.id,
                node.spec.label(),
                resources,
                message.to_json(),
                service=node.spec.kind == "service",
                name=node.spec.name,
            )
        )

    def _chain_hint(self, node: Node) -> ChainHint | None:
        """The spec of node's single next successor, so the worker can chain into it."""
        phase = node.children if node.children else node.followons
        if len(phase) != 1 or self.config.disableChaining:
            return None
        succ = self.state.nodes.get(phase[0])
        if succ is None or succ.npreds != 1:
            return None
        return ChainHint(succ.spec.to_json(), succ.npreds)

    # ------------------------------------------------------------------ completions
    def _collect(self, c: Completion) -> list[JsonDict]:
        issued = self.issued.pop(c.token, None)
        if issued is None:
            return []
        self.services_starting.pop(issued.node_id, None)
        raw = c.result or self.job_store.read_result(c.token)
        result = _parse_result(raw)
        records = self._records_from_result(result)
        failed = result.failed if result else None
        if c.ok and result is not None and failed is None:
            self._handle_logs(c, failed=False)
            return records
        if failed is not None:
            attempt, permanent, why = failed.attempt, failed.permanent, failed.error
        else:
            # no result, or a chain cut short: the job that was running died with its process
            attempt = (result.running if result else None) or issued
            permanent = c.permanent
            why = c.reason or "the job's process died"
        rec = FailRecord(attempt, counts=not (c.lost or c.killed), permanent=permanent)
        if c.oom and self.config.doubleMem:
            node = self.state.nodes.get(attempt.node_id)
            if node is not None:
                rec.memory = 2 * self._resources(node).memory
        self.failure_notes[attempt.node_id] = why
        if not c.killed:
            self._report_failure(c, attempt.node_id, why, rec.counts, permanent, records)
        self._handle_logs(c, failed=True)
        records.append(rec.to_json())
        return records

    def _records_from_result(self, result: WorkerResult | None) -> list[JsonDict]:
        if result is None:
            return []
        for level, text in result.messages:
            log.log(level, "Got message from job at time %s: %s", time.strftime("%m-%d-%Y %H:%M:%S"), text)
        self.monitor.job_ended(result.stats)
        if self.config.stats and result.stats:
            self._best_effort(
                self.job_store.append_stats,
                [json.dumps(s, separators=(",", ":")).encode() + b"\n" for s in result.stats],
            )
        self.completed_runs += len(result.runs)
        return [self._within_budget(run) for run in result.runs]

    def _within_budget(self, run: JsonDict) -> JsonDict:
        """The run's record, its return value moved to the store if the journal holds enough of them already."""
        value = run.get("rv")
        if value is None:
            return run
        size = len(value) * 3 // 4  # base64
        if self._inline_bytes + size <= INLINE_RETURNS_BUDGET:
            self._inline_bytes += size
            return run
        # stored before the record that says the run finished is durable, so a reader always finds it
        self.job_store.write_return(str(run["id"]), decode_value(value))
        return {k: v for k, v in run.items() if k != "rv"}

    def _report_failure(
        self, c: Completion, node_id: str, why: str, counts: bool, permanent: bool, records: list[JsonDict]
    ) -> None:
        node = self.state.nodes.get(node_id)
        spec = node.spec if node else _spec_in(records, node_id)  # a chained job: added by these records
        label = spec.label() if spec else node_id
        if spec is not None and not permanent:
            total = self.state.total_tries(spec)
            left = (node.tries_left if node else total) - (1 if counts else 0)
            if left > 0:
                attempt = total - left
                plan = f"retrying in {self._retry_delay(attempt):g} s (try {attempt + 1} of {total})"
            else:
                plan = f"no tries left (it had {total})"
        else:
            plan = "not retried: retrying cannot fix this"
        log.warning("Job %s failed: %s; %s", label, why, plan)
        text = self.batch.read_log(c)
        if text:
            self._best_effort(self.job_store.write_log, node_id, text)  # for 'toil status --printLogs'
            limit = self.config.maxLogFileSize
            if limit and len(text) > limit:
                text = text[-limit:]
            JobLogs.logWithFormatting(
                f"Log from job {label}", text.decode("utf-8", "replace").rstrip("\n").split("\n"), method=log.warning
            )

    def _handle_logs(self, c: Completion, failed: bool) -> None:
        """With --writeLogs/--writeLogsGzip DIR, keep every job's log in DIR, named after the job."""
        target, gzipped = job_log_target(self.config)
        if target:
            text = self.batch.read_log(c)
            if text is not None:
                attempt = Attempt.from_token(c.token)
                node = self.state.nodes.get(attempt.node_id) if attempt else None
                write_job_log(
                    target,
                    node.spec.display if node else "job",
                    text,
                    failed=failed,
                    gzipped=gzipped,
                    suffix=c.token.replace("/", "-"),
                )
        self.batch.discard_log(c)

    def _retry_delay(self, attempt: int) -> float:
        return retry_delay(attempt, float(self.config.retry_backoff_seconds), float(self.config.retry_backoff_factor))

    # ------------------------------------------------------------------ services and deadlocks
    def _poll_services(self) -> list[JsonDict]:
        records = []
        for sid in list(self.services_starting):
            if self.job_store.has_flag(f"{sid}.started"):
                del self.services_starting[sid]
                records.append(SvcStartedRecord(sid).to_json())
        return records

    def _stop_stranded_services(self) -> None:
        """After a permanent failure, services whose owners can never finish would run forever: stop them."""
        if not self.state.failed or self.timers or self._pending_records or self.state.has_ready():
            return
        nodes = [self.state.nodes.get(a.node_id) for a in self.issued.values()]
        if not nodes or any(n is None or n.spec.kind != "service" or n.id in self.services_starting for n in nodes):
            return
        for n in nodes:
            assert n is not None
            if n.id not in self._stranded:
                self._stranded.add(n.id)
                log.warning("Stopping service %s: the jobs that use it cannot finish after a failure", n.spec.label())
                self.job_store.set_flag(f"{n.id}.stop")

    def _check_deadlock(self) -> None:
        queued = self.batch.queued_tokens()
        running = self.batch.running_tokens()
        only_services = running and all(self._is_started_service(t) for t in running)
        if not (queued and only_services):
            self._deadlock_since = None
            return
        now = time.time()
        if self._deadlock_since is None:
            self._deadlock_since = now
        elif now - self._deadlock_since > self.config.deadlockWait:
            raise FailedJobsException(
                self.job_store.locator,
                [],
                detail=f"deadlock: {len(running)} service job(s) hold all the "
                f"resources, so the {len(queued)} job(s) waiting for them can never start; give services fewer "
                f"resources or allow more with --maxCores/--maxMemory",
            )

    def _is_started_service(self, token: str) -> bool:
        attempt = self.issued.get(token)
        node = self.state.nodes.get(attempt.node_id) if attempt else None
        return node is not None and node.spec.kind == "service" and node.id not in self.services_starting

    # ------------------------------------------------------------------ restart and end
    def _rescue_results(self) -> None:
        """Apply results that workers of a dead leader wrote but that leader never recorded."""
        records: list[JsonDict] = []
        names = self.job_store.list_results()
        found: dict[str, WorkerResult] = {}
        for name in names:
            raw = self.job_store.read_result(name) or b""
            if name.endswith(".rlog"):  # a warm worker's results log: whole results and progress lines
                lines = [decode_line(line) for line in raw.split(b"\n") if line]
                found.update(gather_results([rec for rec in lines if rec is not None]))
            else:
                result = _parse_result(raw)
                if result is not None:
                    found[result.token] = result
        for token, result in found.items():
            attempt = Attempt.from_token(token)
            node = self.state.nodes.get(attempt.node_id) if attempt else None
            if attempt is None or node is None or node.epoch != attempt.epoch:
                continue
            records.extend(self._records_from_result(result))
            if result.failed is not None:
                records.append(FailRecord(result.failed.attempt, permanent=result.failed.permanent).to_json())
        if records:
            log.info("Recovered %d finished job run(s) that the previous leader had not recorded", len(records))
        self._commit(records)
        for name in names:
            self.job_store.delete_result(name)

    def _finish(self) -> None:
        if self.state.finished:
            return
        failed = self.state.failed
        if failed:
            first = next(iter(failed))
            note = self.failure_notes.get(first)
            detail = f"{len(failed)} job(s) failed, first {failed[first]}" + (f": {note}" if note else "")
            raise FailedJobsException(
                self.job_store.locator,
                list(failed.values()),
                detail=detail,
                reasons=[self.failure_notes.get(f, "") for f in failed],
            )
        stuck = [n.spec.label() for n in self.state.nodes.values()][:5]
        raise FailedJobsException(
            self.job_store.locator, [], detail=f"the workflow stopped with jobs that can never run ({', '.join(stuck)})"
        )


def _spec_in(records: list[JsonDict], node_id: str) -> NodeSpec | None:
    """The spec of a node that these records add, if they do."""
    for rec in records:
        for spec in rec.get("add", ()):
            if spec.get("id") == node_id:
                return NodeSpec.from_json(spec)
    return None


def _parse_result(raw: bytes | None) -> WorkerResult | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return WorkerResult.from_json(data) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        log.warning("Ignoring a damaged worker result")
        return None
