"""Run a document workflow from its command-line front end (toil-cwl-runner, toil-wdl-runner).

The front end parses its document and inputs, then hands this module two
functions: ``build()`` makes the graph (specs, root id) and ``read_output``
reads the workflow's result from the job store once it finished. This
module owns the job store's life: a temporary one when the user gave none,
``--restart`` of a kept one, cleaning per ``--clean``, and the front end's
own record (``frontend.json``) that a restart reads back.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from toil.compiler.ir import NodeSpec
from toil.exceptions import ToilUserError
from toil.runtime.config import Config
from toil.runtime.observe.logs import set_logging_from_options
from toil.runtime.workflow import Workflow

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

log = logging.getLogger("toil.driver")

FRONTEND_RECORD = "frontend.json"
_TEMPORARY_PARENTS: set[str] = set()  # directories made here to hold a temporary job store
Build = Callable[[Workflow], tuple[list[NodeSpec], str]]  # the graph's nodes and its root's id
Output = TypeVar("Output")


def config_from_options(options: argparse.Namespace, default_store_prefix: str) -> Config:
    """A Config from parsed Toil options; without --jobStore, a fresh temporary job store path."""
    config = Config()
    config.setOptions(options)
    check_job_store_reachable(config)
    if not config.jobStore:
        parent = getattr(options, "workDir", None) or tempfile.gettempdir()
        temporary = tempfile.mkdtemp(prefix=default_store_prefix, dir=parent)
        _TEMPORARY_PARENTS.add(temporary)
        config.jobStore = os.path.join(temporary, "jobstore")
    return config


def check_job_store_reachable(options: Config | argparse.Namespace) -> None:
    """A cluster's nodes cannot see a temporary job store on this machine: ask for one they can."""
    from toil.runtime.batch import batch_system_class

    batch = options.batchSystem
    if options.jobStore or not batch:
        return
    try:
        remote = batch_system_class(batch).needs_shared_job_store
    except ToilUserError:
        return  # an unknown name is refused where the batch system starts
    if remote:
        raise ToilUserError(
            f"--batchSystem {batch} runs jobs on other machines: give --jobStore a path on a "
            f"file system they share (the default is a local temporary directory)"
        )


def run_workflow(
    config: Config,
    build: Build,
    read_output: Callable[[Workflow, dict[str, Any]], Output],
    record: dict[str, Any] | None = None,
) -> Output:
    """Start (or with --restart, resume) the workflow; return ``read_output(workflow, record)``.

    ``record`` is what the front end must know again on restart (the
    output's reference, the document's location); ``build`` may add to it.
    It is kept in the job store with the graph.
    """
    record = {} if record is None else record
    set_logging_from_options(config)
    workflow = Workflow(config)
    workflow.open()
    failed = True
    try:
        if config.restart:
            record = read_frontend_record(workflow)
            workflow.restart()
        else:

            def build_and_record() -> tuple[list[NodeSpec], str]:
                graph = build(workflow)
                workflow.job_store.write_shared_file(FRONTEND_RECORD, json.dumps(record).encode())
                return graph

            workflow.start_graph(build_and_record)
        result = read_output(workflow, record)
        failed = False
        return result
    finally:
        workflow.close(failed=failed)
        _remove_temporary_parent(config)


def read_frontend_record(workflow: Workflow) -> dict[str, Any]:
    from toil.runtime.jobstores import NoSuchFileException

    locator = workflow.job_store.locator
    try:
        return read_frontend_record_from(workflow.job_store)
    except NoSuchFileException:
        raise ToilUserError(
            f"the job store {locator} holds no document workflow (a Python workflow's job store?): "
            f"restart it with the program that started it"
        ) from None
    except (ValueError, TypeError) as e:
        raise ToilUserError(f"the job store {locator} is damaged: its {FRONTEND_RECORD} cannot be read ({e})") from None


def read_frontend_record_from(job_store: "JobStore") -> dict[str, Any]:
    """The front end's record, as a worker reads it."""
    return dict(json.loads(job_store.read_shared_file(FRONTEND_RECORD)))


def _remove_temporary_parent(config: Config) -> None:
    """A temporary job store lives in a directory of its own: remove it once the store is gone."""
    parent = os.path.dirname(str(config.jobStore).removeprefix("file:"))
    if parent in _TEMPORARY_PARENTS and not os.path.exists(os.path.join(parent, "jobstore")):
        try:
            os.rmdir(parent)
        except OSError:
            pass
