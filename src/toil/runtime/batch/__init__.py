"""Batch systems: where issued jobs run. Looked up by Toil's names."""
from __future__ import annotations

import importlib
from typing import Any

from toil.exceptions import ToilUserError

# name -> "module:class"; later issues add slurm, grid_engine, kubernetes.
BATCH_SYSTEMS: dict[str, str] = {
    "single_machine": "toil.runtime.batch.local:LocalBatchSystem",
    "slurm": "toil.runtime.batch.slurm:SlurmBatchSystem",
    "grid_engine": "toil.runtime.batch.gridengine:GridEngineBatchSystem",
}
ALIASES = {"singleMachine": "single_machine", "single-machine": "single_machine", "local": "single_machine",
           "gridengine": "grid_engine", "gridEngine": "grid_engine", "Slurm": "slurm"}


def batch_system_names() -> list[str]:
    return list(BATCH_SYSTEMS) + list(ALIASES)


def batch_system_class(name: str) -> Any:
    name = ALIASES.get(name, name)
    if name not in BATCH_SYSTEMS:
        raise ToilUserError(f"unknown batch system {name!r}; choose one of {', '.join(BATCH_SYSTEMS)}")
    module, _, cls = BATCH_SYSTEMS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
