"""Compile CWL processes onto the IR.

A workflow becomes one node per step plus an ``outputs`` node; a step reads
its sources' values by reference and is a follow-on of the steps it reads
from. A step that needs its input values to know its shape (scatter, a
subworkflow, resources given by expressions) expands when it runs, adding
``run`` nodes below itself; a plain tool step runs its tool in place.

Node payloads (``extra``) are JSON:
* ``{"op": "step", "doc", "path", "env"}``: a workflow step; ``env`` maps each
  source id it reads to a value or a reference;
* ``{"op": "run", "doc", "path", "job"}``: run the process at ``path`` on a
  known job order (a tool runs; a workflow expands);
* ``{"op": "outputs", "doc", "path", "env"}``: collect a workflow's outputs.
Every node returns a JSON object keyed by the short names of its outputs.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any, Sequence, TypeGuard

from cwltool.context import RuntimeContext
from cwltool.process import Process, shortname

from toil.compiler.cwl.loading import step_name
from toil.compiler.cwl.steps import sources_of
from toil.compiler.dag import SubDag, json_node
from toil.compiler.ir import NodeSpec, Resources
from toil.compiler.values import iter_refs, ref
from toil.runtime.config import Config

if TYPE_CHECKING:
    from cwltool.builder import Builder
    from cwltool.workflow import Workflow, WorkflowStep

log = logging.getLogger("toil.cwl")

KIND = "cwl"
MIB = 1024 * 1024
# A step that resolves values, evaluates expressions or expands into other nodes needs little memory,
# but a whole core: its expressions run in cwltool's Node.js engine, and many engines starting at once
# on few cores crawl (a whole core each also lets a warm worker's engine serve job after job).
LIGHT = Resources(cores=1, memory=100 * MIB, disk=0)
EXPRESSION = Resources(cores=1, memory=256 * MIB, disk=0)
PREEMPTIBLE_HINT = "http://arvados.org/cwl#UsePreemptible"
CUDA_HINT = "http://commonwl.org/cwltool#CUDARequirement"
_clamp_warned: set[str] = set()


def is_tool(process: Process) -> bool:
    return process.tool.get("class") in ("CommandLineTool", "ExpressionTool", "Operation")


def is_workflow(process: Process) -> TypeGuard[Workflow]:
    """Whether the process is a workflow (cwltool's tool factory makes a ``Workflow`` of every one)."""
    return bool(process.tool.get("class") == "Workflow")


def has_dynamic_resources(process: Process) -> bool:
    """Whether the process's resource requirement has expressions (known only with its inputs)."""
    for name in ("ResourceRequirement", CUDA_HINT):
        req, _ = process.get_requirement(name)
        for key, value in (req or {}).items():
            if key != "class" and isinstance(value, str) and ("$(" in value or "${" in value):
                return True
    return False


def resources_of(process: Process, config: Config, builder: Builder | None = None) -> Resources:
    """A tool's IR resources from its requirements (cwltool's defaults where unset)."""
    if process.tool.get("class") == "ExpressionTool":
        return EXPRESSION
    if process.tool.get("class") != "CommandLineTool":
        return LIGHT
    # cwltool reads the builder only to evaluate expressions, which a requirement evaluated without one has not
    # (has_dynamic_resources); its annotation asks for a Builder all the same.
    request = process.evalResources(builder, RuntimeContext())  # type: ignore[arg-type]
    cores = float(request["cores"])
    memory = int(math.ceil(float(request["ram"]))) * MIB
    disk = int(math.ceil(float(request["tmpdirSize"]) + float(request["outdirSize"]))) * MIB
    accelerators: tuple[Any, ...] = ()
    if request.get("cudaDeviceCount"):
        accelerators = ((("api", "cuda"), ("count", int(request["cudaDeviceCount"])), ("kind", "gpu")),)
    return _clamped(
        Resources(cores, memory, disk, accelerators, _preemptible(process, config)),
        config,
        process.tool.get("id", "tool"),
    )


def resource_builder(process: Process, job: dict[str, Any], runtime: RuntimeContext) -> Builder:
    """cwltool's Builder for a tool on a job order, to evaluate its resource requirement.

    The job's own run makes its directories; this evaluation must not (cwltool would create an
    output, a temporary and a staging directory for every call).
    """
    import copy
    import tempfile

    context = runtime.copy()
    context.outdir = context.tmpdir = context.stagedir = tempfile.gettempdir()
    return process._init_job(copy.deepcopy(job), context)


def _preemptible(process: Process, config: Config) -> bool:
    req, _ = process.get_requirement(PREEMPTIBLE_HINT)
    if req is not None and "usePreemptible" in req:
        return bool(req["usePreemptible"])
    return config.defaultPreemptible


def _clamped(res: Resources, config: Config, name: str) -> Resources:
    """Requests beyond the batch system's per-job limits run at the limits, as cwltool runs them anyway."""
    limits = Resources(float(config.maxCores), config.maxMemory, config.maxDisk)
    capped = res.capped(limits)
    if capped != res and name not in _clamp_warned:
        _clamp_warned.add(name)
        log.warning("%s asks for %s; running it within this batch system's limits", shortname(name), res.describe())
    return capped


def _names(process: Process, label: str) -> tuple[str, str]:
    """(stats name, display name) of a node running ``process``."""
    pid = str(process.tool.get("id", ""))
    if "#" in pid:
        name = shortname(pid)
    elif pid and not pid.startswith("_:"):
        name = os.path.splitext(pid.rsplit("/", 1)[-1])[0]
    else:
        name = str(process.tool.get("class", "cwl"))
    return name, label or name


def run_node(
    doc: str,
    path: Sequence[str],
    process: Process,
    job: dict[str, Any],
    config: Config,
    label: str = "",
    builder: Builder | None = None,
) -> NodeSpec:
    """A node running ``process`` on a known job order; exact resources when it is a tool."""
    resources = resources_of(process, config, builder) if is_tool(process) else LIGHT
    name, display = _names(process, label)
    return json_node(
        KIND, name, display, resources, {"op": "run", "doc": doc, "path": list(path), "job": job}, hint=name
    )


def compile_workflow(
    doc: str, path: Sequence[str], workflow: Workflow, inputs: dict[str, Any], config: Config
) -> tuple[SubDag, dict[str, Any]]:
    """The workflow's steps as a sub-DAG on known inputs; returns it and the reference to its outputs."""
    dag = SubDag()
    env: dict[str, Any] = {}
    for inp in workflow.tool["inputs"]:
        key = shortname(inp["id"])
        env[inp["id"]] = inputs[key] if key in inputs else inp.get("default")
    specs = [_step_node(doc, [*path, step_name(step)], step, config) for step in workflow.steps]
    for spec, step in zip(specs, workflow.steps):
        for out in step.tool["outputs"]:
            env[out["id"]] = ref(spec.id, shortname(out["id"]))
    for spec, step in zip(specs, workflow.steps):
        spec.extra["env"] = {src: env[src] for src in sources_of(step.tool["inputs"], "source") if src in env}
        dag.add(spec, iter_refs(spec.extra["env"]))
    out_env = {src: env[src] for src in sources_of(workflow.tool["outputs"], "outputSource") if src in env}
    name = shortname(workflow.tool.get("id", "workflow"))
    outputs = json_node(
        KIND,
        "outputs",
        f"{name} outputs",
        LIGHT,
        {"op": "outputs", "doc": doc, "path": list(path), "env": out_env},
        hint="outputs",
    )
    dag.add(outputs, iter_refs(out_env))
    return dag, ref(outputs.id)


def _step_node(doc: str, path: list[str], step: WorkflowStep, config: Config) -> NodeSpec:
    """The node of one step; its sources are filled in once every step has its node."""
    embedded = step.embedded_tool
    inline = is_tool(embedded) and "scatter" not in step.tool and not has_dynamic_resources(embedded)
    resources = resources_of(embedded, config) if inline else LIGHT
    name = shortname(step.tool["id"])
    spec = json_node(KIND, name, name, resources, {"op": "step", "doc": doc, "path": path, "inline": inline}, hint=name)
    return spec
