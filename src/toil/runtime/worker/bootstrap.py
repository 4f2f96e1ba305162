"""What every process that runs jobs outside the leader's fork server does first, in one place.

``_toil_worker`` (one job), a pack runner (many, one after another) and ``toil debug-job`` (one, in the
foreground) all open the job store, read the workflow's options from it and attach them to the store,
set up logging, make the directory the workflow's temporary files go in, and import the user's main module
(shipped by the leader, see worker/deploy.py) as ``__main__`` so jobs pickled from it resolve.
``bootstrap_worker`` does it and says what it made.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from toil.runtime.config import Config
from toil.runtime.jobstores.base import JobStore


@dataclass(frozen=True)
class WorkerEnv:
    """A bootstrapped worker process: its job store (with the config attached), the config, its work dir."""

    job_store: JobStore
    config: Config
    workflow_dir: str


def bootstrap_worker(
    job_store: JobStore | str,
    main: str | None = None,
    *,
    log_level: str | None = None,
    workflow_dir: str | None = None,
    prefer_local: bool = False,
    **overrides: Any,
) -> WorkerEnv:
    """Ready this process to run jobs of the workflow in ``job_store`` (a store or its locator).

    ``main`` is the leader's main script (a message's ``main``), imported where the leader shipped no code;
    ``log_level`` replaces the workflow's --logLevel; ``workflow_dir`` the usual ``WORKDIR/toil-WORKFLOWID``;
    ``prefer_local`` takes the leader's copy of its code over the shipped one; ``overrides`` set options.
    """
    from toil.runtime.observe.logs import configure

    js = open_worker_job_store(job_store) if isinstance(job_store, str) else job_store
    meta = js.read_meta()
    config = Config.from_json(meta["config"])
    for name, value in overrides.items():
        setattr(config, name, value)
    if log_level is not None:
        config.logLevel = log_level
    js.config = config
    configure(config.logLevel)
    where = workflow_dir or os.path.join(config.work_dir(), f"toil-{config.workflowID}")
    os.makedirs(where, mode=0o700, exist_ok=True)
    if "deploy" in meta:
        from toil.runtime.worker.deploy import Deployment, adopt

        adopt(js, Deployment.from_json(meta["deploy"]), os.path.join(where, "deploy"), prefer_local)
    else:
        adopt_main_module(main)  # a batch system whose workers share the leader's files (or an older job store)
    return WorkerEnv(js, config, where)


def open_worker_job_store(locator: str) -> JobStore:
    from toil.runtime.jobstores import normalize_locator, open_job_store

    return open_job_store(normalize_locator(locator))


def read_worker_message(job_store: JobStore, where: str) -> dict[str, Any]:
    """A message by its name in the job store or, for older callers (a message file), by its path."""
    if os.sep not in where:
        try:
            data: bytes | None = job_store.read_message(where)
        except (KeyError, ValueError):  # none of that name, or not a message name
            data = None
        if data is not None:
            return dict(json.loads(data))
    with open(where, encoding="utf-8") as f:
        return dict(json.load(f))


def adopt_main_module(path: str | None) -> None:
    """Import the leader's main script under another name and let pickles of __main__ find it."""
    if not path or not os.path.isfile(path):
        return
    name = "_toil_user_main"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(module)
    sys.modules["__main__"] = module
