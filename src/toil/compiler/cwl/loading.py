"""Where workers find the loaded CWL document and cwltool's run-time settings.

The leader loads the document with cwltool and registers the root process
before the batch system starts, so warm workers forked from it have it in
memory. The leader's load reads every source file through a fetcher that
notes its text (``leader_loading_context``), and the leader ships those
texts in the job store, in a file the front-end record names
(``toil.compiler.sources``). A worker that did not inherit the document
(another machine, a fresh interpreter) loads it again at the same URI
through a fetcher answering from that copy: it needs none of the leader's
files, and its load names every process and source as the leader's did.

Processes are addressed by their path of step names from the root, which
stays unique when one file is used by several steps (and, unlike step
indices, stays the same when the document is loaded again: cwltool does not
keep the steps in document order).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Callable, Sequence

from toil.compiler.sources import Sources, from_record
from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    import argparse

    from cwltool.context import LoadingContext, RuntimeContext
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep
    from schema_salad.fetcher import Fetcher
    from schema_salad.utils import CacheType

    from toil.runtime.jobstores import JobStore

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


def load_again(key: str, record: dict[str, Any] | None, job_store: JobStore | None = None) -> Process:
    """Load the document in a worker that did not inherit it, from the front end's record: from the sources the
    leader shipped in the job store (those it did not ship, a record of an older run: from where they are)."""
    from cwltool.context import LoadingContext, RuntimeContext
    from cwltool.load_tool import load_tool
    from cwltool.workflow import default_make_tool

    from toil.compiler.cwl import imports

    if not record:
        raise ToilUserError(f"this worker has no copy of the CWL document {key} and no record to load it from")
    loading = LoadingContext({k: v for k, v in record.get("loading", {}).items() if k in LOADING_KEYS})
    loading.construct_tool_object = default_make_tool
    sources = from_record(job_store, record) if job_store is not None else None
    if sources is not None:
        loading.fetcher_constructor = fetcher_serving(sources)
    log.info("Loading %s in this worker%s", record["uri"], " from the job store" if sources is not None else "")
    root = load_tool(record["uri"], loading)
    for req in record.get("job_requirements", []):
        root.requirements.append(req)
    if record.get(imports.DOCUMENT_FILES) and job_store is not None:
        imports.materialize(root, record[imports.DOCUMENT_FILES], job_store)
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


# -- the sources: noted by the leader's load, served to a worker's
_leader_sources = Sources()  # what this process's cwltool main read through its fetcher
EXISTS = "exists:"  # facts: whether a linked file existed when the leader's load checked it


def leader_sources(leave_out: Sequence[str] = ()) -> Sources:
    """What the leader's load read, without ``leave_out`` (the job order's URIs: inputs, not the document)."""
    return Sources({k: v for k, v in _leader_sources.texts.items() if k not in leave_out}, _leader_sources.facts)


def leader_loading_context(args: argparse.Namespace) -> LoadingContext:
    """cwltool's LoadingContext for its main (as it would make one from ``args``), its fetcher noting every text."""
    from cwltool.context import LoadingContext

    loading = LoadingContext(vars(args))
    loading.singularity = bool(getattr(args, "singularity", False))
    loading.podman = bool(getattr(args, "podman", False))
    loading.fetcher_constructor = fetcher_noting(_leader_sources)
    return loading


def fetcher_noting(sources: Sources) -> Callable[[CacheType, Any], Fetcher]:
    """A fetcher constructor (schema-salad's) reading as its default fetcher does, noting what it read in
    ``sources``."""
    from schema_salad.fetcher import DefaultFetcher

    class NotingFetcher(DefaultFetcher):
        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            text = super().fetch_text(url, content_types)
            sources.note(url, text)
            return text

        def check_exists(self, url: str) -> bool:
            found = super().check_exists(url)
            sources.note_fact(EXISTS + url, found)
            return found

    return NotingFetcher


def fetcher_serving(sources: Sources) -> Callable[[CacheType, Any], Fetcher]:
    """A fetcher constructor answering from ``sources``; what they do not hold is read as usual."""
    from schema_salad.fetcher import DefaultFetcher

    class ServingFetcher(DefaultFetcher):
        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            text = sources.text(url)
            return text if text is not None else super().fetch_text(url, content_types)

        def check_exists(self, url: str) -> bool:
            if url in sources:
                return True
            found = sources.fact(EXISTS + url)
            return bool(found) if found is not None else super().check_exists(url)

    return ServingFetcher
