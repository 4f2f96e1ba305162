"""Start a Python job graph (Toil's ``toil.start(rootJob)``) on a workflow, and read its root's return value."""

from __future__ import annotations

from typing import Any

from toil.compiler.ir import NodeSpec
from toil.exceptions import ToilRestartException, ToilUserError
from toil.runtime.jobstores.base import JobStore
from toil.runtime.workflow import Workflow


def start_python(workflow: Workflow, root_job: Any) -> Any:
    """Compile the graph rooted at ``root_job``, run it, and return the root job's return value."""
    from toil.compiler.python.job import Job

    if workflow.config.restart:
        raise ToilRestartException("this workflow was started before: call restart() to resume it")
    if workflow.started:
        raise ToilRestartException("a workflow can only be started once: call restart() to resume it")
    if not isinstance(root_job, Job):
        raise ToilUserError(f"start() needs a Job, got {type(root_job).__name__}")
    if root_job._directPredecessors:
        raise ToilUserError(f"the job {root_job} passed to start() has predecessors: pass the root of the graph")
    # The root job's module (Toil's user script): what workers need where __main__ is no Python file.
    workflow.user_module = getattr(getattr(root_job, "userFunction", None), "__module__", None) or (
        type(root_job).__module__
    )
    return workflow.start_graph(lambda: _compile(root_job, workflow))


def _compile(root_job: Any, workflow: Workflow) -> tuple[list[NodeSpec], str]:
    from toil.compiler.python.compile import compile_graph

    compiled = compile_graph(root_job, workflow.config)
    specs = compiled.specs
    specs[0].keep_return = True
    if compiled.pack:
        workflow.job_store.write_pack(compiled.pack_name, compiled.pack)
    return specs, specs[0].id


def read_python_root(job_store: JobStore, root: str | None, values: dict[str, bytes]) -> Any:
    """The root job's return value (None if it returned nothing or was never recorded); ``values``: those the
    journal holds."""
    from toil.compiler.python.promise import Prefetched, PromiseNotReadyError, load_return, resolving_promises

    if root is None:
        return None
    reader = Prefetched(job_store, {}, values)
    with resolving_promises(reader):
        try:
            return load_return(reader, root)
        except PromiseNotReadyError:
            return None
