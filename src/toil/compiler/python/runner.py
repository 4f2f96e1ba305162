"""Run Python job nodes in a worker: unpickle, run, compile what the run added.

Two kinds: ``python`` (a Job's run()) and ``service`` (a Job.Service hosted
until the leader asks it to stop).
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

from toil.compiler.ir import RunRecord
from toil.compiler.python.compile import compile_graph, dumps
from toil.compiler.python.job import Job, ServiceHostJob
from toil.compiler.python.promise import Prefetched, resolving_promises, split_reads
from toil.runtime.worker.attempt import RunContext, RunOutcome

log = logging.getLogger("toil.worker")

STOP_POLL_SECONDS = 0.05
# A return value up to this size goes in the job's result and the leader's journal, not in an object of its own:
# on an object store that saves a PUT per job and a GET per read (readers get it with their job).
INLINE_RETURN_BYTES = 1024


def _load_job(ctx: RunContext) -> Job:
    reads, data = split_reads(ctx.payload)
    stored = [r for r in reads if r not in ctx.values]
    values = ctx.job_store.read_returns(stored) if len(stored) > 1 else {}  # all at once, not one by one
    with resolving_promises(Prefetched(ctx.job_store, values, ctx.values)):
        job = pickle.loads(data)
    if not isinstance(job, Job):
        raise TypeError(f"the payload of node {ctx.spec.id} is a {type(job).__name__}, not a Job")
    job._node_id = ctx.spec.id
    job._config = ctx.config
    return job


def run_python(ctx: RunContext) -> RunOutcome:
    job = _load_job(ctx)
    job._fileStore = ctx.file_store
    job._defer = ctx.deferred.add
    try:
        value = job._run(jobGraph=None, fileStore=ctx.file_store)
    finally:
        job._fileStore = None
        job._defer = None
    compiled = compile_graph(job, ctx.config, running=job, return_value=value, keep_return=ctx.spec.keep_return)
    packs = {}
    if compiled.pack:
        ctx.job_store.write_pack(compiled.pack_name, compiled.pack)
        packs[compiled.pack_name] = compiled.pack
    inline = compiled.return_value is not None and len(compiled.return_value) <= INLINE_RETURN_BYTES
    if compiled.return_value is not None and not inline:
        ctx.job_store.write_return(ctx.spec.id, compiled.return_value)
    fs = ctx.file_store
    record = RunRecord(
        id=ctx.spec.id,
        epoch=ctx.epoch,
        add=compiled.specs,
        children=compiled.children,
        followons=compiled.followons,
        services=compiled.services,
        delete_files=list(fs.deleted),
        cleanup_files=list(fs.cleanup),
        return_value=compiled.return_value if inline else None,
        return_refs=compiled.return_refs,
    )
    return RunOutcome(record, packs)


def run_service(ctx: RunContext) -> RunOutcome:
    host = _load_job(ctx)
    if not isinstance(host, ServiceHostJob):
        raise TypeError(f"node {ctx.spec.id} is not a service host")
    host._fileStore = ctx.file_store
    host._defer = ctx.deferred.add
    service = host.service
    service._config = ctx.config
    started_flag, stop_flag = f"{ctx.spec.id}.started", f"{ctx.spec.id}.stop"
    interval = ctx.config.servicePollingInterval
    value = service.start(host)
    try:
        ctx.job_store.write_return(ctx.spec.id, dumps(value))
        ctx.job_store.set_flag(started_flag)
        last_check = time.monotonic()
        finished_early = False
        while not ctx.job_store.has_flag(stop_flag):
            time.sleep(STOP_POLL_SECONDS)
            if not finished_early and time.monotonic() - last_check >= interval:
                last_check = time.monotonic()
                if not service.check():
                    log.info("Service %s finished; waiting for the leader to stop it", ctx.spec.label())
                    finished_early = True
    finally:
        service.stop(host)
        host._fileStore = None
    ctx.job_store.clear_flag(started_flag)
    ctx.job_store.clear_flag(stop_flag)
    return RunOutcome(RunRecord(id=ctx.spec.id, epoch=ctx.epoch, cleanup_files=list(ctx.file_store.cleanup)))


def value_of(raw: bytes) -> Any:
    """Unpickle a stored return value (promises inside it must already be resolvable)."""
    return pickle.loads(raw)
