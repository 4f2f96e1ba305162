"""The leader side of toil-cwl-runner: a cwltool executor that runs the process on the IR runtime.

cwltool's ``main`` loads and validates the document and the job order, then
calls its executor. This executor compiles the process onto the IR, runs it
with the project's runtime (job store, leader, batch system), and moves the
final outputs from the job store to ``--outdir`` before the job store goes:
each read back by its job-store ID (in place where the store is local).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from cwltool.command_line_tool import CommandLineTool
from cwltool.context import RuntimeContext
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.executors import JobExecutor
from cwltool.process import Process, relocateOutputs
from cwltool.utils import DEFAULT_TMP_PREFIX
from schema_salad.sourceline import SourceLine

from toil.compiler.cwl import loading
from toil.compiler.cwl.compile import compile_workflow, is_workflow, resource_builder, run_node
from toil.compiler.cwl.containers import choose_engine
from toil.compiler.cwl.files import AREA, Files
from toil.compiler.cwl.imports import DOCUMENT_FILES, GivenFiles, importing, with_secondary_files
from toil.compiler.cwl.runner import USER_OUTDIRS, CWLUnsupported
from toil.compiler.dag import SubDag
from toil.compiler.files import worker_containers
from toil.compiler.sources import RECORD_KEY
from toil.compiler.values import ReturnReader, ref
from toil.exceptions import FailedJobsException
from toil.runtime.config import Config
from toil.runtime.driver import config_from_options, run_workflow

if TYPE_CHECKING:
    from toil.compiler.ir import NodeSpec
    from toil.runtime.jobstores import JobStore
    from toil.runtime.workflow import Workflow

log = logging.getLogger("toil.cwl")

DOC = "main"  # the key of the workflow's document in the worker registry
CWL_REQUIREMENTS = "https://w3id.org/cwl/cwl#requirements"


class ToilCWLExecutor(JobExecutor):
    """Runs a loaded CWL process as a workflow of the project's runtime."""

    def __init__(self, options: argparse.Namespace) -> None:
        super().__init__()
        self.options = options

    def run_jobs(
        self, process: Process, job_order_object: Any, logger: logging.Logger, runtime_context: RuntimeContext
    ) -> None:  # pragma: no cover - execute() is overridden
        raise NotImplementedError

    def execute(
        self, process: Process, job_order_object: Any, runtime_context: RuntimeContext, logger: logging.Logger = log
    ) -> tuple[Any, str]:
        _refuse_abstract_operations(process, runtime_context)
        job_requirements = _job_requirements(process, job_order_object)
        for req in job_requirements:
            process.requirements.append(req)
        config = config_from_options(self.options, "toil-cwl-")
        choose_engine(runtime_context, _tools(process), worker_containers(config))
        _check_supported(process, runtime_context)
        if runtime_context.validate_only:
            return None, "ValidationSuccess"
        if getattr(self.options, "quiet", False) and not _given(self.options, "logLevel"):
            config.logLevel = "WARNING"
        settings = loading.settings_of(runtime_context)
        settings["_user_tmp_outdir_prefix"] = runtime_context.tmp_outdir_prefix != DEFAULT_TMP_PREFIX
        settings["_user_tmpdir_prefix"] = runtime_context.tmpdir_prefix != DEFAULT_TMP_PREFIX
        loading.register(DOC, process, settings)  # before the batch system forks its workers
        record = loading.record_for(process.tool["id"], self.options, settings, job_requirements)
        final_outdir = os.path.abspath(runtime_context.outdir) if isinstance(runtime_context.outdir, str) else None
        keep_store = config.clean in ("never", "onError") or config.stats

        def build(workflow: Workflow) -> tuple[list[NodeSpec], str]:
            job_store = workflow.job_store
            record[RECORD_KEY] = loading.leader_sources(_job_order_uris(self.options)).save(job_store)
            given = GivenFiles(job_store) if importing(self.options, config) else None
            if given is not None:
                record[DOCUMENT_FILES] = given.import_document(process)
            dag, output = _compile_root(process, dict(job_order_object), config, runtime_context, given)
            record["output"] = output
            return dag.as_graph(_name(process))

        def read_output(workflow: Workflow, rec: dict[str, Any]) -> Any:
            out = ReturnReader.of(workflow.job_store).resolve(rec["output"])
            area = workflow.job_store.local_area(AREA)
            action = "copy" if keep_store or runtime_context.move_outputs == "copy" else runtime_context.move_outputs
            out = _export_outputs(out, workflow.job_store, area, final_outdir, action, runtime_context)
            dest = getattr(self.options, "destBucket", None)  # only toil-cwl-runner's parser has it
            if dest:
                out = export_to_url(out, dest, final_outdir)
            if area and runtime_context.rm_tmpdir:
                _remove_listed_dirs(os.path.join(area, USER_OUTDIRS))
            return out

        try:
            output = run_workflow(config, build, read_output, record)
        except FailedJobsException as e:
            if any(r.startswith((CWLUnsupported.__name__, "UnsupportedRequirement")) for r in e.reasons):
                raise UnsupportedRequirement(next(r for r in e.reasons if "Unsupported" in r)) from None
            logger.error("%s", e)
            return None, "permanentFail"
        return output, "success"


def _job_order_uris(options: argparse.Namespace) -> list[str]:
    """The URIs cwltool read the job order from: inputs, not the document (not shipped with it)."""
    from schema_salad.ref_resolver import file_uri

    given = [str(p) for p in getattr(options, "job_order", None) or []]
    if len(given) != 1 or given[0].startswith("-"):  # as cwltool's load_job_order tells a job order file
        return []
    return [given[0] if "://" in given[0] else file_uri(os.path.abspath(given[0]))]


def _compile_root(
    process: Process,
    job_order: dict[str, Any],
    config: Config,
    runtime_context: RuntimeContext,
    given: GivenFiles | None = None,
) -> tuple[SubDag, dict[str, Any]]:
    """The root graph: a workflow's steps, or one node running a lone tool (``given``: the leader imports the
    job order's files)."""
    job_order.pop("id", None)
    context = runtime_context.copy()
    context.outdir = None
    context.toplevel = True  # cwltool discovers secondary files of the top-level inputs only
    if is_workflow(process):
        job = dict(process._init_job(job_order, context).job)
        return compile_workflow(DOC, [], process, given.import_value(job) if given else job, config)
    # A lone tool initialises its job order in its own job (initialising twice would list directories twice);
    # here only to know the resources it asks for (and, to import them, the secondary files it finds).
    builder = resource_builder(process, job_order, context)
    if given is not None:
        job_order = given.import_value(with_secondary_files(job_order, builder.job))
    dag = SubDag()
    node = run_node(DOC, [], process, job_order, config, builder=builder)
    node.extra["toplevel"] = True
    dag.add(node)
    return dag, ref(node.id)


def _export_outputs(
    out: Any,
    job_store: JobStore,
    area: str | None,
    final_outdir: str | None,
    action: str,
    runtime_context: RuntimeContext,
) -> Any:
    """The final outputs read back from the job store by ID and relocated to --outdir (cwltool's relocateOutputs).

    Outputs found in place (a local store) are moved or copied from there, as cwltool does from its
    intermediate output directories; the others are copied out of the job store into a staging directory
    first, and moved from it.
    """
    staging = tempfile.mkdtemp(prefix="toil-cwl-outputs-")
    try:
        out = Files(job_store, staging, "outputs", link="copy").localize(out)
        if out is not None and final_outdir is not None:
            sources = {d for d in (area, os.path.realpath(staging)) if d}
            out = relocateOutputs(
                out,
                final_outdir,
                sources,
                action,
                runtime_context.make_fs_access(""),
                bool(runtime_context.compute_checksum),
                path_mapper=runtime_context.path_mapper,
            )
            _give_user_modes(out, final_outdir)
    finally:
        if (final_outdir is not None and action in ("move", "copy")) or not os.listdir(staging):
            shutil.rmtree(staging, ignore_errors=True)  # else the outputs are left where they are
    return out


def export_to_url(out: Any, dest: str, outdir: str | None) -> Any:
    """The outputs also written under ``dest`` (Toil's --destBucket), their locations the URLs they went to."""
    from toil.compiler.cwl.files import _local_path, _map_objects
    from toil.compiler.files import within
    from toil.runtime.jobstores.urls import url_handler

    handler = url_handler(dest.rstrip("/") + "/x")
    handler.check_writable(dest.rstrip("/") + "/x")

    def url_of(path: str) -> str:
        inside = outdir is not None and within(os.path.abspath(path), [outdir])
        rel = os.path.relpath(path, outdir) if inside and outdir else os.path.basename(path)
        return dest.rstrip("/") + "/" + rel

    def upload(path: str) -> None:
        with open(path, "rb") as f:
            handler.write(url_of(path), f, executable=bool(os.stat(path).st_mode & 0o100))

    def export(obj: dict[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        path = _local_path(out.get("location"))
        if path is not None and os.path.exists(path):
            if os.path.isdir(path):
                for parent, _, files in os.walk(path):
                    for name in files:
                        upload(os.path.join(parent, name))
            else:
                upload(path)
            out["location"] = url_of(path)
            out.pop("path", None)
            out.pop("dirname", None)
        for key in ("secondaryFiles", "listing"):
            if isinstance(out.get(key), list):
                out[key] = [_map_objects(e, export) for e in out[key]]
        return out

    return _map_objects(out, export)


def _give_user_modes(out: Any, outdir: str) -> None:
    """Outputs in --outdir get the modes the user's umask gives (as with cwltool); in the job store they were
    private (see runner.run_cwl)."""
    from toil.compiler.cwl.runner import _local_paths
    from toil.runtime.jobstores.file.fsutil import user_mode

    def fix(path: str) -> None:
        if os.path.islink(path):
            return
        if os.path.isdir(path):
            os.chmod(path, user_mode(directory=True))
        elif os.path.isfile(path):
            os.chmod(path, user_mode(executable=bool(os.stat(path).st_mode & 0o100)))

    root = os.path.realpath(outdir)
    for path in set(_local_paths(out)):
        if not path.startswith(root + os.sep):
            continue
        fix(path)
        for parent, dirs, files in os.walk(path):
            for name in dirs + files:
                fix(os.path.join(parent, name))


def _remove_listed_dirs(listing: str) -> None:
    """Remove the intermediate output directories jobs made under --tmp-outdir-prefix (as cwltool does)."""
    import shutil

    try:
        with open(listing) as f:
            for line in f:
                if line.strip():
                    shutil.rmtree(line.strip(), ignore_errors=True)
    except FileNotFoundError:
        pass


def _name(process: Process) -> str:
    pid = str(process.tool.get("id", "cwl"))
    return pid.rsplit("/", 1)[-1]


def _given(options: argparse.Namespace, dest: str) -> bool:
    """Whether an option differs from its default (the options table cannot tell 'given' from 'default')."""
    from toil.options.common import defaults

    return bool(getattr(options, dest, None) != defaults().get(dest))


def _job_requirements(process: Process, job_order: Any) -> list[Any]:
    """Requirements given in the job order (``cwl:requirements``), as cwltool's executor reads them."""
    from cwltool.update import ORIGINAL_CWLVERSION

    reqs = job_order.get(CWL_REQUIREMENTS) if isinstance(job_order, dict) else None
    if reqs is None:
        defaults = process.metadata.get("cwl:defaults")
        reqs = defaults.get(CWL_REQUIREMENTS) if isinstance(defaults, dict) else None
    if reqs is not None and process.metadata.get(ORIGINAL_CWLVERSION) == "v1.0":
        raise WorkflowException(
            "`cwl:requirements` in the input object is not part of CWL v1.0. You can adjust "
            "to use `cwltool:overrides` instead; or you can set the cwlVersion to v1.1"
        )
    if reqs is not None and not (
        isinstance(reqs, list) and all(isinstance(r, dict) and isinstance(r.get("class"), str) for r in reqs)
    ):
        raise WorkflowException(
            "`cwl:requirements` in the input object must be a list of requirements, each a "
            "mapping with a 'class' (such as EnvVarRequirement)"
        )
    return list(reqs) if isinstance(reqs, list) else []


def _refuse_abstract_operations(process: Process, runtime_context: RuntimeContext) -> None:
    def check(tool: Any) -> None:
        if tool["class"] == "Operation":
            raise SourceLine(tool, "class", WorkflowException, runtime_context.debug).makeError(
                "Workflow has unrunnable abstract Operation"
            )

    process.visit(check)


def _check_supported(process: Process, runtime_context: RuntimeContext) -> None:
    """Fail before anything runs if a tool needs what this run cannot give (exit code 33)."""
    for tool in _tools(process):
        if isinstance(tool, CommandLineTool):  # what cwltool makes of a tool of class CommandLineTool
            tool.make_job_runner(runtime_context)


def _tools(process: Process) -> list[Process]:
    found: list[Process] = []
    stack = [process]
    while stack:
        p = stack.pop()
        if is_workflow(p):
            stack.extend(step.embedded_tool for step in p.steps)
        else:
            found.append(p)
    return found
