"""A worker runs one issued node: load it, run it, record the result, and chain.

Chaining (Toil's): if the node's next phase holds exactly one successor whose
only predecessor is this node and which fits in this allocation, the worker
runs it too, without going back through the leader. Each run's record goes
into the result in order; the result is rewritten before each chained run so
a crash mid-chain loses nothing that finished.

The node kinds a worker can run are registered by their front ends
(runtime/kinds.py): the runtime imports none of them.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import resource
import shutil
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field

from toil.compiler.ir import KIND_PYTHON, NodeSpec, Resources, RunRecord
from toil.exceptions import ToilUserError
from toil.runtime.config import Config
from toil.runtime.jobstores import retry
from toil.runtime.jobstores.base import JobStore
from toil.runtime.kinds import runner_for
from toil.runtime.kinds import warm_up as warm_up  # the fork server's (batch/local.py, batch/packrun.py)
from toil.runtime.observe.statsdata import JobStatLine
from toil.runtime.protocol import Attempt, ChainHint, FailedRun, JsonDict, ResultProgress, WorkerMessage, WorkerResult
from toil.runtime.worker import containers
from toil.runtime.worker.deferred import DeferredFunctions
from toil.runtime.worker.filestore import AbstractFileStore

log = logging.getLogger("toil.worker")

_kept_children: set[int] = set()


def keep_child_between_jobs(pid: int) -> None:
    """Declare a child process a long-lived helper of this worker (e.g. cwltool's Node.js engine).

    A warm worker is otherwise replaced after a job that leaves children
    behind; a declared helper stays, so the next job need not start it again.
    """
    _kept_children.add(pid)


def kept_children() -> set[int]:
    return _kept_children


@dataclass
class RunContext:
    """Everything a kind runner gets to run one node."""

    job_store: JobStore
    config: Config
    spec: NodeSpec
    epoch: int
    payload: bytes
    file_store: AbstractFileStore
    deferred: DeferredFunctions
    workdir: str
    # return values the job may read that are in no object of the store: from the leader with the job, or made
    # earlier in this chain (runs carry small return values in their records)
    values: dict[str, bytes] = field(default_factory=dict)


@dataclass
class RunOutcome:
    record: RunRecord
    packs: dict[str, bytes] = field(default_factory=dict)  # packs this run wrote, for chaining


def _payload(job_store: JobStore, spec: NodeSpec, packs: dict[str, bytes]) -> bytes:
    ref = spec.payload
    if ref is None:
        return b""
    if ref.pack in packs:
        return packs[ref.pack][ref.offset : ref.offset + ref.length]
    return job_store.read_payload(ref)


def _chain_target(
    current: NodeSpec, record: RunRecord, alloc: Resources, static_next: ChainHint | None, config: Config
) -> NodeSpec | None:
    """The successor to run next in this process, if chaining applies."""
    if config.disableChaining or current.kind != KIND_PYTHON or current.checkpoint:
        return None
    if current.services or record.services or record.delete_files:
        return None  # deletions take effect once the run is recorded: successors must not run before
    children = current.children + record.children
    phase = children if children else current.followons + record.followons
    if len(phase) != 1:
        return None
    target_id = phase[0]
    new_specs = {s.id: s for s in record.add}
    if target_id in new_specs:
        target = new_specs[target_id]
        npreds = sum((s.children + s.followons).count(target_id) for s in record.add)
        npreds += (record.children + record.followons).count(target_id)
    elif static_next is not None and static_next.spec["id"] == target_id:
        target, npreds = NodeSpec.from_json(static_next.spec), static_next.npreds
    else:
        return None
    if npreds != 1 or target.kind != KIND_PYTHON or target.checkpoint or target.services:
        return None
    return target if target.resources.fits_within(alloc) else None


_HOST = socket.gethostname()


def _job_stats(spec: NodeSpec, outcome: "RunOutcome | None", started: float, cpu0: float) -> JobStatLine:
    """One line of ``toil stats``: timing, peak memory (KiB, the job's tools included) and successors."""
    succ = list(spec.children) + list(spec.followons)
    if outcome is not None:
        succ += list(outcome.record.children) + list(outcome.record.followons)
    maxrss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    stats: JobStatLine = {
        "id": spec.id,
        "name": spec.name,
        "start": round(started, 6),
        "wall": round(time.time() - started, 6),
        "cpu": round(_cpu_seconds() - cpu0, 6),
        "maxrss": maxrss,
        "ok": outcome is not None,
        "pid": os.getpid(),
        "host": _HOST,
        "next": succ,
    }
    if spec.display != spec.name:
        stats["display"] = spec.display
    uses = containers.take_uses()
    if uses:
        stats["container"] = ", ".join(uses)  # engine and image, e.g. "podman debian:stable-slim"
    return stats


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (a job's tools)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _said_in_one_line(e: BaseException) -> bool:
    """A user's mistake, or a full or read-only disk (no bug of the job's): a traceback would not help."""
    return isinstance(e, ToilUserError) or (isinstance(e, OSError) and e.errno in retry.CANNOT_WRITE)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


def _finish_dir(path: str, policy: str, succeeded: bool, reused: bool, keep_as: str) -> None:
    """Clean a job's temporary directory per --cleanWorkDir; a reused scratch directory is emptied or moved."""
    clean = policy == "always" or (policy == "onSuccess" and succeeded) or (policy == "onError" and not succeeded)
    if not reused:
        if clean:
            shutil.rmtree(path, ignore_errors=True)
        return
    if clean:
        if os.listdir(path):
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path, mode=0o700, exist_ok=True)
    else:
        os.replace(path, keep_as)
        os.makedirs(path, mode=0o700, exist_ok=True)


def _report_retries(result: WorkerResult, before: "collections.Counter[str]") -> None:
    """Tell the leader (as a job message) about job store calls this job had to retry."""
    text = retry.summary(retry.RETRIED - before)
    if text:
        result.messages.append((logging.WARNING, text))


class ResultSink:
    """Where a worker leaves its result for the leader: by default, a result file in the job store.

    ``progress`` is called after each run of a chain, so a crash part way loses
    little; a file sink rewrites the whole result, so it does so at most once
    per PROGRESS_SECONDS to keep long chains linear.
    """

    PROGRESS_SECONDS = 1.0

    def __init__(self, job_store: JobStore) -> None:
        self.job_store = job_store
        self._last = 0.0

    def progress(self, token: str, result: WorkerResult) -> None:
        now = time.monotonic()
        if now - self._last >= self.PROGRESS_SECONDS:
            self._last = now
            self.job_store.write_result(token, _encode(result.to_json()))

    def finish(self, token: str, data: bytes) -> None:
        self.job_store.write_result(token, data)


class AppendLogSink(ResultSink):
    """Results appended to one log file per warm worker: no file created or renamed per job.

    The leader gets each result directly from the worker; the log exists so a
    restarted leader can recover results its dead predecessor never recorded.
    Progress lines carry only the newest run of a chain (``part``); the last
    line of a token carries the whole result.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def _append(self, data: bytes) -> None:
        import zlib

        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self.fd, data + b"\t" + b"%08x" % zlib.crc32(data) + b"\n")

    def progress(self, token: str, result: WorkerResult) -> None:
        self._append(_encode(ResultProgress(token, result.runs[-1], result.running).to_json()))

    def finish(self, token: str, data: bytes) -> None:
        self._append(data)


def _encode(data: JsonDict) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _maybe_be_a_bad_worker(config: Config) -> None:
    """--badWorker: for testing, kill this job's process at a random moment of its first moments."""
    import random
    import signal

    fraction = config.badWorker
    if fraction > 0 and random.random() < fraction:
        delay = random.uniform(0.0, config.badWorkerFailInterval or 0.01)
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGKILL))
        signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-4))


def run_attempt(
    job_store: JobStore,
    config: Config,
    message_json: JsonDict,
    workflow_dir: str,
    sink: ResultSink | None = None,
    scratch: str | None = None,
) -> tuple[int, bytes]:
    """Run the issued node (and any chained successors); leave the result with sink; return (exit code, result).

    ``message_json`` is a WorkerMessage as it arrived. With ``scratch`` (a warm
    worker's own directory), jobs use it as their temporary directory instead
    of creating and deleting one each.
    """
    _maybe_be_a_bad_worker(config)
    # --setEnv (a warm worker restores after); a null value (a secret) is the one this process inherited
    os.environ.update({k: v for k, v in (config.environment or {}).items() if v is not None})
    sink = sink or ResultSink(job_store)
    message = WorkerMessage.from_json(message_json)
    token = message.attempt.token
    current, epoch, static_next, alloc = message.spec, message.attempt.epoch, message.next, message.alloc
    result = WorkerResult(token)
    retried_before = retry.RETRIED.copy()
    deferred = DeferredFunctions(os.path.join(workflow_dir, "deferred"))
    packs: dict[str, bytes] = {}
    values = dict(message.values)
    exit_code = 0
    policy = config.cleanWorkDir
    while True:
        job_dir = scratch or os.path.join(workflow_dir, f"{current.id}.{epoch}")
        os.makedirs(job_dir, mode=0o700, exist_ok=True)
        fs = AbstractFileStore(job_store, config, current.id, current.display, job_dir, result.messages)
        started, cpu0 = time.time(), _cpu_seconds()
        containers.take_uses()
        containers.set_job_deferred(deferred)
        outcome: RunOutcome | None = None
        cwd = os.getcwd()
        try:
            os.chdir(job_dir)
            ctx = RunContext(
                job_store, config, current, epoch, _payload(job_store, current, packs), fs, deferred, job_dir, values
            )
            outcome = runner_for(current.kind)(ctx)
        except BaseException as e:  # the job's failure, whatever it is, is reported, not raised
            if _said_in_one_line(e) and not os.environ.get("TOIL_TRACEBACK"):
                sys.stderr.write(f"Job {current.label()} failed: {e}\n")
            else:
                sys.stderr.write(f"Job {current.label()} failed:\n")
                traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            fs.shutdown_failed_attempt()
            result.failed = FailedRun(
                Attempt(current.id, epoch), _one_line(e), isinstance(e, ToilUserError) and not e.retryable
            )
            exit_code = 1
        finally:
            os.chdir(cwd)
            deferred.run_all()
            _finish_dir(
                job_dir,
                policy,
                outcome is not None,
                scratch is not None,
                os.path.join(workflow_dir, f"{current.id}.{epoch}"),
            )
        result.stats.append(_job_stats(current, outcome, started, cpu0))
        if outcome is None:
            break
        result.runs.append(outcome.record.to_json())
        packs.update(outcome.packs)
        if outcome.record.return_value is not None:
            values[current.id] = outcome.record.return_value
        nxt = _chain_target(current, outcome.record, alloc, static_next, config)
        if nxt is None:
            break
        result.running = Attempt(nxt.id, 0)
        sink.progress(token, result)
        current, epoch, static_next = nxt, 0, None
    result.running = None
    _report_retries(result, retried_before)
    data = _encode(result.to_json())
    sink.finish(token, data)
    return exit_code, data
