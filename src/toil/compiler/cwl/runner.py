"""Run CWL nodes in a worker: resolve a step's inputs, run a tool with cwltool, or expand.

A tool runs through cwltool's own job classes (command line building, path
mapping, staging, time limits, output collection). Values cross nodes with
their files in the job store (``files.py``): a node reads the stored files it
is given into its work directory, by ID, and stores the files of its result.
Where the job store is local, a tool's output directory is made inside it
(its local area) so stored outputs are references to the files in place.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from cwl_utils.types import CWLObjectType
from cwltool.context import RuntimeContext
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.mutation import MutationManager
from cwltool.process import shortname
from cwltool.secrets import SecretStore
from cwltool.stdfsaccess import StdFsAccess
from schema_salad.exceptions import ValidationException

from toil.compiler.cwl import loading, steps
from toil.compiler.cwl.compile import compile_workflow, is_workflow, resource_builder, run_node
from toil.compiler.cwl.containers import check_engine_error, node_aware
from toil.compiler.cwl.files import AREA, Files
from toil.compiler.dag import SubDag
from toil.compiler.ir import NodeSpec, RunRecord
from toil.compiler.values import ReturnReader, dumps, ref
from toil.exceptions import ToilUserError
from toil.runtime.jobstores.file.fsutil import make_private, private_files
from toil.runtime.worker.attempt import RunContext, RunOutcome, keep_child_between_jobs

if TYPE_CHECKING:
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep

log = logging.getLogger("toil.cwl")


USER_OUTDIRS = "user-outdirs"  # output directories made under the user's --tmp-outdir-prefix, one per line
_outdir_log: str | None = None


class CWLJobFailed(ToilUserError):
    """A tool or expression failed: running it again gives the same result, so it is not retried."""


class CWLUnsupported(ToilUserError):
    """The document needs a feature this runner cannot provide here (cwltool's exit code 33)."""

    exit_code = 33


def run_cwl(ctx: RunContext) -> RunOutcome:
    with private_files():  # the tool's files stay the user's alone; --outdir gets the user's umask
        return _run_cwl(ctx)


def _run_cwl(ctx: RunContext) -> RunOutcome:
    extra = ctx.spec.extra
    if not loading.is_loaded(extra["doc"]):
        from toil.runtime.driver import read_frontend_record_from

        loading.load_again(extra["doc"], read_frontend_record_from(ctx.job_store), ctx.job_store)
    runtime = worker_runtime_context(extra["doc"], ctx)
    reader = ReturnReader.of(ctx.job_store)
    files = Files(ctx.job_store, ctx.workdir, ctx.spec.id)
    op = extra["op"]
    try:
        if op == "step":
            value, dag = _run_step(ctx, runtime, reader, files)
        elif op == "run":
            value, dag = _run_process(ctx, runtime, extra["path"], reader.resolve(extra["job"]), files)
        elif op == "outputs":
            value, dag = _collect_outputs(ctx, reader), None
        else:
            raise ToilUserError(f"unknown CWL node operation {op!r}")
        value = files.store_all(value)  # the result names job-store files only: any worker can read it
    except UnsupportedRequirement as e:
        raise CWLUnsupported(f"UnsupportedRequirement: {e}") from e
    except (WorkflowException, ValidationException) as e:
        raise CWLJobFailed(f"{ctx.spec.display}: {_first_line(e)}") from e
    ctx.job_store.write_return(ctx.spec.id, dumps(value))
    _keep_javascript_engine()
    record = dag.as_run(ctx.spec.id, ctx.epoch) if dag else RunRecord(id=ctx.spec.id, epoch=ctx.epoch)
    return RunOutcome(record)


def _keep_javascript_engine() -> None:
    """cwltool keeps one Node.js process per thread for expressions: let it serve this worker's next jobs."""
    from cwl_utils.sandboxjs import get_js_engine

    procs = getattr(getattr(get_js_engine(), "localdata", None), "procs", None) or {}
    for proc in procs.values():
        if proc.poll() is None:
            keep_child_between_jobs(proc.pid)


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__


def worker_runtime_context(doc: str, ctx: RunContext) -> RuntimeContext:
    """cwltool's RuntimeContext for a job: the user's settings, outputs kept in the job store."""
    global _outdir_log
    settings = loading.runtime_settings(doc)
    runtime = RuntimeContext(dict(settings))
    area = ctx.job_store.local_area(AREA)
    _outdir_log = None
    if not settings.get("_user_tmp_outdir_prefix"):
        runtime.tmp_outdir_prefix = os.path.join(area or ctx.workdir, "out-")
    elif area:
        _outdir_log = os.path.join(area, USER_OUTDIRS)  # the leader removes them once outputs are exported
    if not settings.get("_user_tmpdir_prefix"):
        runtime.tmpdir_prefix = os.path.join(ctx.workdir, "tmp-")
    runtime.basedir = ctx.workdir
    if not settings.get("cidfile_dir"):  # container ids kept until the job removes its containers
        runtime.cidfile_dir = os.path.join(ctx.workdir, "cids")
        os.makedirs(runtime.cidfile_dir, exist_ok=True)
    runtime.outdir = None
    runtime.make_fs_access = StdFsAccess
    runtime.mutation_manager = MutationManager()
    runtime.secret_store = SecretStore()
    runtime.workflow_eval_lock = threading.Condition(threading.RLock())
    runtime.name = ctx.spec.display
    runtime.toplevel = bool(ctx.spec.extra.get("toplevel"))
    return runtime


def _run_step(
    ctx: RunContext, runtime: RuntimeContext, reader: ReturnReader, files: Files
) -> tuple[Any, SubDag | None]:
    extra = ctx.spec.extra
    doc, path = extra["doc"], extra["path"]
    workflow = loading.workflow_at(doc, path[:-1])
    step = loading.step_of(workflow, path[-1])
    steps.check_value_from(workflow, step)
    io = steps.gather(workflow, step.tool["inputs"], reader.resolve(extra["env"]), "source", frag_only=False)
    out_keys = [shortname(o["id"]) for o in step.tool["outputs"]]
    if "scatter" in step.tool:
        return _expand_scatter(ctx, runtime, workflow, step, io, out_keys, files)
    evaluated = _post_scatter_eval(workflow, step, io, runtime, files)
    if evaluated is None:
        log.info("Step %s skipped: its 'when' is false", ctx.spec.display)
        return steps.skipped_outputs(step), None
    job = steps.tool_job_order(step, evaluated)
    if extra.get("inline"):
        outputs = run_tool(step.embedded_tool, job, runtime, files)
        return _step_outputs(step, outputs), None
    dag = SubDag()
    node = dag.add(_run_node_for(ctx, path, step.embedded_tool, job, runtime, files))
    return {k: ref(node, k) for k in out_keys}, dag


def _post_scatter_eval(
    workflow: Workflow, step: WorkflowStep, io: dict[str, Any], runtime: RuntimeContext, files: Files
) -> dict[str, Any] | None:
    """steps.post_scatter_eval on stored values: the files are read here only when an input's expression or
    loadContents needs them, and the result is stored again (a run node may run elsewhere)."""
    if not steps.reads_files(step):
        return steps.post_scatter_eval(workflow, step, io, runtime)
    evaluated = steps.post_scatter_eval(workflow, step, files.localize(io), runtime)
    return None if evaluated is None else dict(files.store_all(evaluated))


def _expand_scatter(
    ctx: RunContext,
    runtime: RuntimeContext,
    workflow: Workflow,
    step: WorkflowStep,
    io: dict[str, Any],
    out_keys: list[str],
    files: Files,
) -> tuple[Any, SubDag]:
    items, shape = steps.scatter_items(step, io)
    dag = SubDag()
    # An ExpressionTool is an expression, evaluated where it is needed as cwltool does: a job per item
    # would cost more than the evaluation.
    inline = step.embedded_tool.tool.get("class") == "ExpressionTool"
    results: list[Any] = []
    for index, item in enumerate(items):
        evaluated = _post_scatter_eval(workflow, step, item, runtime, files)
        if evaluated is None:
            results.append(None)
            continue
        job = steps.tool_job_order(step, evaluated)
        if inline:
            results.append(_step_outputs(step, run_tool(step.embedded_tool, job, runtime, files)))
            continue
        label = f"{ctx.spec.display}[{index}]"
        node = dag.add(_run_node_for(ctx, ctx.spec.extra["path"], step.embedded_tool, job, runtime, files, label))
        results.append({k: ref(node, k) for k in out_keys})
    outputs = {k: shape([r[k] if r is not None else None for r in results]) for k in out_keys}
    return outputs, dag


def _run_node_for(
    ctx: RunContext,
    path: list[str],
    process: Process,
    job: dict[str, Any],
    runtime: RuntimeContext,
    files: Files,
    label: str = "",
) -> NodeSpec:
    """A run node with the resources the process asks for on this job order (in stored form: a file the document
    names, copied into this worker, by its ID)."""
    job = files.store_all(job)
    builder = None
    if not is_workflow(process) and process.tool.get("class") == "CommandLineTool":
        builder = resource_builder(process, files.localize(job), runtime)
    return run_node(ctx.spec.extra["doc"], path, process, job, ctx.config, label or ctx.spec.display, builder)


def _copy(value: CWLObjectType) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied


def _run_process(
    ctx: RunContext, runtime: RuntimeContext, path: list[str], job: dict[str, Any], files: Files
) -> tuple[Any, SubDag | None]:
    process = loading.process_at(ctx.spec.extra["doc"], path)
    if is_workflow(process):
        # validated, with defaults and listings (cwltool's Workflow.job), then stored for the steps' nodes
        job = dict(files.store_all(dict(process._init_job(files.localize(job), runtime).job)))
        dag, outputs = compile_workflow(ctx.spec.extra["doc"], path, process, job, ctx.config)
        return outputs, dag
    return run_tool(process, job, runtime, files), None


def _collect_outputs(ctx: RunContext, reader: ReturnReader) -> Any:
    extra = ctx.spec.extra
    workflow = loading.workflow_at(extra["doc"], extra["path"])
    env = reader.resolve(extra["env"])
    return steps.gather(workflow, workflow.tool["outputs"], env, "outputSource", frag_only=True, incomplete=True)


def _step_outputs(step: WorkflowStep, outputs: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for out in step.tool["outputs"]:
        key = shortname(out["id"])
        if key not in outputs:
            raise WorkflowException(f"Output is missing expected field {key}")
        result[key] = outputs[key]
    return result


def run_tool(process: Process, job: dict[str, Any], runtime: RuntimeContext, files: Files) -> dict[str, Any]:
    """Run a CommandLineTool or ExpressionTool with cwltool's job classes; return its output object.

    The job order's stored files are read into this worker first; the outputs are local paths.
    """
    job = files.localize(job)
    results: list[tuple[CWLObjectType | None, str]] = []

    def collect(out: CWLObjectType | None, status: str) -> None:
        results.append((out, status))

    outdirs, given, staged = [], [job], []
    errors = _ErrorRecorder()
    for cwl_job in process.job(job, collect, runtime):
        if cwl_job is None:
            raise WorkflowException(f"{shortname(process.tool.get('id', 'tool'))} could not be started")
        with errors:
            try:
                node_aware(cwl_job).run(runtime)
            except WorkflowException as e:  # an image that cannot be had: say which, in one line
                check_engine_error(e)
                raise
        outdir: str | None = getattr(cwl_job, "outdir", None)  # unset (None) for some kinds of job
        if outdir:
            make_private(outdir)
            files.made_in(outdir)
            outdirs += [os.path.realpath(outdir), os.path.abspath(outdir)]
            if _outdir_log:
                with open(_outdir_log, "a") as f:
                    f.write(outdir + "\n")
        builder = getattr(cwl_job, "builder", None)
        if builder is not None:
            given.append(builder.job)  # with the secondary files and listings cwltool found
        staged += _staged_paths(cwl_job)
    if not results:
        raise WorkflowException("the tool produced no output object")
    out, status = results[-1]
    if status != "success":
        reason = f": {errors.last}" if errors.last else ""
        raise WorkflowException(f"{shortname(process.tool.get('id', 'tool'))} finished with status {status}{reason}")
    _refuse_escaping_outputs(out or {}, outdirs, staged, given)
    return _copy(out or {})


class _ErrorRecorder(logging.Handler):
    """Keeps the last error cwltool logged while running a job (why it failed), as one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            lines = [line.strip() for line in record.getMessage().splitlines() if line.strip()]
        except Exception:  # a record that cannot be formatted says nothing useful
            return
        if lines:
            self.last = lines[-1]

    def __enter__(self) -> None:
        logging.getLogger("cwltool").addHandler(self)

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger("cwltool").removeHandler(self)


def _local_paths(value: Any, real: bool = True) -> list[str]:
    """The paths of every local File and Directory in a value: real paths, or as written (normalised)."""
    found: list[str] = []
    resolve = os.path.realpath if real else os.path.normpath

    def visit(v: Any) -> None:
        if isinstance(v, dict):
            location = v.get("location") or v.get("path")
            if v.get("class") in ("File", "Directory") and isinstance(location, str):
                if location.startswith("file://"):
                    from schema_salad.ref_resolver import uri_file_path

                    found.append(resolve(uri_file_path(location)))
                elif location.startswith("/"):
                    found.append(resolve(location))
            for item in v.values():
                visit(item)
        elif isinstance(v, list):
            for item in v:
                visit(item)

    visit(value)
    return found


def _staged_paths(cwl_job: object) -> list[str]:
    """The local files cwltool staged for a job (inputs, InitialWorkDir entries, the document's own files)."""
    paths = []
    for mapper in (getattr(cwl_job, "pathmapper", None), getattr(cwl_job, "generatemapper", None)):
        for _, entry in mapper.items() if mapper is not None else ():
            resolved = str(entry.resolved)
            if resolved.startswith("file://"):
                from schema_salad.ref_resolver import uri_file_path

                resolved = uri_file_path(resolved)
            if resolved.startswith("/"):
                paths.append(os.path.realpath(resolved))
    return paths


def _within(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _refuse_escaping_outputs(outputs: Any, outdirs: list[str], staged: list[str], given: Any) -> None:
    """Outputs must be in the tool's output directory or be files it was given (as cwltool requires).

    A glob like ``../../etc/passwd`` passes cwltool's check, which compares
    paths as strings; and an output that is a symbolic link to a file the job
    was not given, or a Directory holding one, escapes as well: in a container
    such a link dangles, so the tool fails, while on the host it would quietly
    export a file from anywhere on the machine.
    """
    allowed = outdirs + staged + _local_paths(given)
    written = allowed + _local_paths(given, real=False)
    for path in _local_paths(outputs, real=False):
        if not _within(path, written):
            raise WorkflowException(
                f"Output file path {path} must be within designated output directory "
                f"({outdirs[-1] if outdirs else '?'}) or an input file pass through."
            )
    for path in _local_paths(outputs):
        if not _within(path, allowed):
            raise WorkflowException(
                f"an output is a symbolic link to {path}, outside the job's working directory and inputs"
            )
        if os.path.isdir(path) and _within(path, outdirs):  # a Directory the tool made (not an input)
            for parent, dirs, files in os.walk(path):
                for name in dirs + files:
                    inner = os.path.join(parent, name)
                    if os.path.islink(inner) and not _within(os.path.realpath(inner), allowed):
                        raise WorkflowException(
                            f"the output directory {path} holds a symbolic link to "
                            f"{os.path.realpath(inner)}, outside the job's working directory "
                            f"and inputs"
                        )
