"""Run one WDL node in a worker: a task, or an expansion of part of a workflow.

Every node reads the stored values it was given (resolving references to
other nodes' results), does its work, and stores its result as JSON; nodes
that expand return a RunRecord adding their sub-DAG below themselves.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from WDL import Tree

from toil.compiler import values as refs
from toil.compiler.ir import Resources, RunRecord
from toil.compiler.sources import from_record
from toil.compiler.wdl import document
from toil.compiler.wdl.compile import Expander
from toil.compiler.wdl.evaluate import Evaluator
from toil.compiler.wdl.files import Store
from toil.compiler.wdl.resources import machine_limits
from toil.compiler.wdl.task import run_task
from toil.runtime.jobstores.file.fsutil import private_files

if TYPE_CHECKING:
    from toil.runtime.config import Config
    from toil.runtime.jobstores.base import JobStore
    from toil.runtime.worker.attempt import RunContext, RunOutcome


def default_resources(config: Config) -> Resources:
    """A task's resources where its runtime section says nothing: the workflow's defaults."""
    return Resources(
        float(config.defaultCores), config.defaultMemory, config.defaultDisk, (), config.defaultPreemptible
    )


_limits: dict[str, Resources | None] = {}


def limits_for(config: Config) -> Resources | None:
    """The single machine's limits (computed once per process)."""
    if "limits" not in _limits:
        _limits["limits"] = machine_limits(config)
    return _limits["limits"]


_records: dict[str, dict[str, Any]] = {}


def record_of(job_store: JobStore) -> dict[str, Any]:
    """The front end's record of this run (read once per process)."""
    key = str(getattr(job_store, "locator", id(job_store)))
    if key not in _records:
        from toil.runtime.driver import read_frontend_record_from

        _records[key] = read_frontend_record_from(job_store)
    return _records[key]


def engine_of(job_store: JobStore) -> str | None:
    """The container engine the leader chose for this run (in the front end's record)."""
    engine = record_of(job_store).get("container")
    return str(engine) if engine else None


def load_document(doc: str, job_store: JobStore) -> None:
    """Load the workflow's document in a worker that did not inherit it: from the sources the leader shipped
    in the job store (a record without them, of an older run: from the path)."""
    if not document.is_loaded(doc):
        document.load(doc, from_record(job_store, record_of(job_store)))


def run_wdl(ctx: RunContext) -> RunOutcome:
    with private_files():  # the task's files stay the user's alone; exports get the user's umask
        return _run_wdl(ctx)


def _run_wdl(ctx: RunContext) -> RunOutcome:
    from toil.runtime.worker.attempt import RunOutcome

    extra = ctx.spec.extra
    op = extra["op"]
    reader = refs.ReturnReader.of(ctx.job_store)
    store = Store(ctx.job_store)
    record = RunRecord(id=ctx.spec.id, epoch=ctx.epoch)
    load_document(extra["doc"], ctx.job_store)
    if op == "task":
        task = document.find(extra["doc"], extra["task"])
        assert isinstance(task, Tree.Task)
        inputs = reader.resolve(extra["inputs"])
        value: Any = run_task(task, inputs, store, ctx.workdir, ctx.spec.id, extra["call"], engine_of(ctx.job_store))
    else:
        value, record = expand(ctx, extra, op, reader, store)
    ctx.job_store.write_return(ctx.spec.id, refs.dumps(value))
    return RunOutcome(record=record)


def expand(
    ctx: RunContext, extra: dict[str, Any], op: str, reader: refs.ReturnReader, store: Store
) -> tuple[Any, RunRecord]:
    """Expand a workflow, a deferred call, section or declarations: (return value, run record)."""
    workflow = document.find(extra["doc"], extra["wf"])
    assert isinstance(workflow, Tree.Workflow)
    env = reader.resolve(extra["env"])
    overrides = dict(extra.get("ov") or {})
    if op == "workflow":
        overrides.update({k: v for k, v in env.items() if "." in k})
        env = {k: v for k, v in env.items() if "." not in k}
    ev = Evaluator(
        workflow.effective_wdl_version, store, os.path.join(ctx.workdir, "eval"), ctx.spec.id, extra.get("cwd")
    )
    exp = Expander(
        extra["doc"],
        workflow,
        ev,
        default_resources(ctx.config),
        overrides,
        extra.get("where", ""),
        limits_for(ctx.config),
    )
    if op == "workflow":
        value = exp.workflow_body(env)
    elif op == "decls":
        decls = [node for node in (workflow.get_node(i) for i in extra["decls"]) if isinstance(node, Tree.Decl)]
        for d in decls:
            env.pop(d.name, None)
        exp.decls_group(decls, env, ctx.spec.display)
        value = {d.name: env[d.name] for d in decls}
    else:
        node = workflow.get_node(extra["node"])
        before = set(env)
        exp.node(node, env, extra.get("where", workflow.name))
        value = {k: v for k, v in env.items() if k not in before}
        if isinstance(node, Tree.Call):  # consumers read the call's outputs by their own names
            value = {k[len(node.name) + 1 :]: v for k, v in value.items()}
    return value, exp.dag.as_run(ctx.spec.id, ctx.epoch)
