"""Where workers find the loaded CWL document and cwltool's run-time settings.

The leader loads the document with cwltool and registers the root process
before the batch system starts, so warm workers forked from it have it in
memory. A worker that does not (another machine, a fresh interpreter) loads
the document again from the location kept in the job store's front-end
record. Processes are addressed by their path of step names from the root,
which stays unique when one file is used by several steps (and, unlike step
indices, stays the same when the document is loaded again: cwltool does not
keep the steps in document order).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Sequence

from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    import argparse

    from cwltool.context import RuntimeContext
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep

log = logging.getLogger("toil.cwl")

_roots: dict[str, Process] = {}  # document key -> root cwltool Process
_runtime: dict[str, dict[str, Any]] = {}  # document key -> RuntimeContext settings

# Settings of cwltool's LoadingContext that change what a load makes.
LOADING_KEYS = (
    "enable_dev",
    "relax_path_checks",
    "do_validate",
    "strict",
    "skip_schemas",
    "fast_parser",
    "disable_js_validation",
    "doc_cache",
)


def register(key: str, root: Process, runtime_settings: dict[str, Any]) -> None:
    """Make the loaded root process available to jobs of this workflow (call before the batch system starts)."""
    _roots[key] = root
    _runtime[key] = runtime_settings


def is_loaded(key: str) -> bool:
    return key in _roots


def step_name(step: WorkflowStep) -> str:
    """The name that addresses a step within its workflow."""
    return str(step.tool["id"]).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def step_of(workflow: Process, name: str) -> WorkflowStep:
    """The step ``name`` of a workflow (a process that is not one has none)."""
    from cwltool.workflow import Workflow

    for step in workflow.steps if isinstance(workflow, Workflow) else ():
        if step_name(step) == name:
            return step
    raise ToilUserError(
        f"the workflow {workflow.tool.get('id')} has no step {name!r}: was the document changed "
        f"since the workflow started?"
    )


def process_at(key: str, path: Sequence[str]) -> Process:
    """The process at ``path`` (step names from the root; [] is the root itself)."""
    root = _roots.get(key)
    if root is None:
        raise ToilUserError(f"the CWL document {key} is not loaded in this process")
    process = root
    for name in path:
        process = step_of(process, name).embedded_tool
    return process


def workflow_at(key: str, path: Sequence[str]) -> Workflow:
    """The workflow at ``path`` (a step's or outputs node's: what it names is a workflow)."""
    from cwltool.workflow import Workflow

    process = process_at(key, path)
    if not isinstance(process, Workflow):
        raise ToilUserError(
            f"the process {process.tool.get('id')} is not a workflow: was the document changed since the workflow "
            f"started?"
        )
    return process


def runtime_settings(key: str) -> dict[str, Any]:
    return _runtime.get(key, {})


def settings_of(context: RuntimeContext) -> dict[str, Any]:
    """The JSON-able settings of a cwltool context (what a worker on another machine can rebuild)."""
    settings: dict[str, Any] = {}
    for name, value in vars(context).items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            settings[name] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            settings[name] = list(value)
    return settings


def load_again(key: str, record: dict[str, Any] | None) -> Process:
    """Load the document in a worker that did not inherit it, from the front end's record."""
    from cwltool.context import LoadingContext, RuntimeContext
    from cwltool.load_tool import load_tool
    from cwltool.workflow import default_make_tool

    if not record:
        raise ToilUserError(f"this worker has no copy of the CWL document {key} and no record to load it from")
    loading = LoadingContext({k: v for k, v in record.get("loading", {}).items() if k in LOADING_KEYS})
    loading.construct_tool_object = default_make_tool
    log.info("Loading %s in this worker", record["uri"])
    root = load_tool(record["uri"], loading)
    for req in record.get("job_requirements", []):
        root.requirements.append(req)
    settings = dict(record.get("runtime", {}))
    register(key, root, settings)
    RuntimeContext(settings)  # fail here, not mid-job, if the settings are unusable
    return root


def record_for(
    uri: str, options: argparse.Namespace, runtime: dict[str, Any], job_requirements: list[Any]
) -> dict[str, Any]:
    """What a worker elsewhere needs to load the document the same way (``options``: cwltool's, which name the
    loading settings as its LoadingContext does)."""
    loading = {k: getattr(options, k) for k in LOADING_KEYS if isinstance(getattr(options, k, None), (bool, str, int))}
    return {
        "uri": uri,
        "loading": loading,
        "runtime": runtime,
        "job_requirements": json.loads(json.dumps(job_requirements, default=str)),
    }
