"""CWL workflow-step semantics, on resolved values: inputs, valueFrom, when, scatter.

The rules are cwltool's (its ``object_from_state`` does source merging,
``pickValue`` and defaults); this module applies them to values read from
the job store instead of cwltool's in-memory workflow state.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from cwl_utils import expression
from cwl_utils.types import CWLObjectType
from cwltool.builder import content_limit_respected_read
from cwltool.context import RuntimeContext
from cwltool.errors import WorkflowException
from cwltool.process import shortname
from cwltool.stdfsaccess import StdFsAccess
from cwltool.utils import WorkflowStateItem, adjustDirObjs, aslist, get_listing
from cwltool.workflow_job import object_from_state

if TYPE_CHECKING:
    from cwltool.workflow import Workflow, WorkflowStep


def source_parameters(workflow: Workflow) -> dict[str, Any]:
    """Every value a step or output of the workflow can connect to: workflow inputs and step outputs, by id."""
    params = {inp["id"]: inp for inp in workflow.tool["inputs"]}
    for step in workflow.steps:
        for out in step.tool["outputs"]:
            params[out["id"]] = out
    return params


def sources_of(params: list[Any], field: str) -> list[str]:
    """The source ids a list of parameters connects to."""
    found: list[str] = []
    for p in params:
        found.extend(aslist(p.get(field, [])))
    return found


def gather(
    workflow: Workflow, params: list[Any], env: dict[str, Any], field: str, frag_only: bool, incomplete: bool = False
) -> dict[str, Any]:
    """The input (or output) object of ``params`` from resolved source values (cwltool's object_from_state)."""
    known = source_parameters(workflow)
    state = {src: WorkflowStateItem(known[src], value, "success") for src, value in env.items() if src in known}
    multiple = bool(workflow.get_requirement("MultipleInputFeatureRequirement")[0])
    obj = object_from_state(state, params, frag_only, multiple, field, incomplete=incomplete)  # type: ignore[arg-type]
    if obj is None:
        raise WorkflowException("a step ran before all its sources were available")
    return dict(obj)


def check_value_from(workflow: Workflow, step: WorkflowStep) -> None:
    if (
        any("valueFrom" in i for i in step.tool["inputs"])
        and not workflow.get_requirement("StepInputExpressionRequirement")[0]
    ):
        raise WorkflowException(
            "Workflow step contains valueFrom but StepInputExpressionRequirement not in requirements"
        )


def reads_files(step: WorkflowStep) -> bool:
    """Whether evaluating the step's inputs may read their files (valueFrom expressions, loadContents)."""
    return any("valueFrom" in i or i.get("loadContents") for i in step.tool["inputs"])


def post_scatter_eval(
    workflow: Workflow, step: WorkflowStep, io: dict[str, Any], runtime: RuntimeContext
) -> dict[str, Any] | None:
    """loadContents, valueFrom and ``when`` on one (scattered) input object; None when ``when`` is false."""
    value_from = {i["id"]: i["valueFrom"] for i in step.tool["inputs"] if "valueFrom" in i}
    load_contents = {i["id"] for i in step.tool["inputs"] if i.get("loadContents")}
    fs_access = StdFsAccess("")
    for key, value in io.items():
        if key in load_contents and value is not None:
            for item in value if isinstance(value, list) else [value]:
                if item.get("contents") is None:
                    with fs_access.open(item["location"], "rb") as f:
                        item["contents"] = content_limit_respected_read(f)
    short_io = {shortname(k): v for k, v in io.items()}
    evaluate = functools.partial(_evaluate, workflow.requirements, runtime)

    def apply_value_from(key: str, value: Any) -> Any:
        if key not in value_from:
            return value
        adjustDirObjs(value, functools.partial(get_listing, fs_access, recursive=True))
        return evaluate(value_from[key], short_io, context=value)

    evaluated = {k: apply_value_from(k, v) for k, v in io.items()}
    if "when" in step.tool:
        when = evaluate(step.tool["when"], {shortname(k): v for k, v in evaluated.items()})
        if when is False:
            return None
        if when is not True:
            raise WorkflowException(f"Conditional 'when' must evaluate to 'true' or 'false', not {when!r}")
    return evaluated


def _evaluate(
    requirements: list[CWLObjectType], runtime: RuntimeContext, expr: Any, inputs: dict[str, Any], context: Any = None
) -> Any:
    return expression.do_eval(
        expr,
        inputs,
        requirements,
        None,
        None,
        {},
        context=context,
        debug=runtime.debug,
        js_console=runtime.js_console,
        timeout=runtime.eval_timeout,
        container_engine="podman" if runtime.podman else "docker",
    )


def tool_job_order(step: WorkflowStep, io: dict[str, Any]) -> dict[str, Any]:
    """The embedded process's job order from a step's evaluated input object (cwltool's WorkflowStep.job)."""
    return {shortname(i["id"]): io[i["id"]] for i in step.tool["inputs"] if not i.get("not_connected")}


def scatter_items(step: WorkflowStep, io: dict[str, Any]) -> tuple[list[dict[str, Any]], Callable[[list[Any]], Any]]:
    """Split a scatter step's input object; return the items and how to shape the items' outputs."""
    keys = aslist(step.tool["scatter"])
    method = step.tool.get("scatterMethod")
    if method is None and len(keys) != 1:
        raise WorkflowException("Must specify scatterMethod when scattering over multiple inputs")
    for key in keys:
        if not isinstance(io.get(key), list):
            raise WorkflowException(f"Value of scatter input '{shortname(key)}' is not an array: {io.get(key)!r}")
    if method in (None, "dotproduct"):
        lengths = {len(io[k]) for k in keys}
        if len(lengths) > 1:
            raise WorkflowException("Length of input arrays must be equal when performing dotproduct scatter")
        size = lengths.pop()
        items = [{**io, **{k: io[k][i] for k in keys}} for i in range(size)]
        return items, list
    combos: list[dict[str, Any]] = [dict(io)]
    for key in keys:
        combos = [{**c, key: v} for c in combos for v in io[key]]
    if method == "flat_crossproduct":
        return combos, list
    if method != "nested_crossproduct":
        raise WorkflowException(f"Unknown scatterMethod {method!r}")
    dims = [len(io[k]) for k in keys]
    return combos, functools.partial(_fold, dims=dims)


def _fold(flat: list[Any], dims: list[int]) -> Any:
    """Nest a flat list of results into lists of the given dimensions (row-major)."""
    if len(dims) <= 1:
        return list(flat)
    stride = 1
    for d in dims[1:]:
        stride *= d
    return [_fold(flat[i * stride : (i + 1) * stride], dims[1:]) for i in range(dims[0])]


def skipped_outputs(step: WorkflowStep) -> dict[str, Any]:
    return {shortname(o["id"]): None for o in step.tool["outputs"]}
