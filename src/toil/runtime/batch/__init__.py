"""Batch systems: where issued jobs run. Looked up by Toil's names in one registry.

Built-in entries name a module and class, imported only when used; ``register_batch_system`` adds a
factory (a function returning the class), as Toil's plugin API does (``toil.batchSystems.registry``).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from toil.exceptions import ToilUserError

# name -> "module:class" (built in) or a factory returning the class (registered at run time)
BATCH_SYSTEMS: dict[str, str | Callable[[], Any]] = {
    "single_machine": "toil.runtime.batch.local:LocalBatchSystem",
    "slurm": "toil.runtime.batch.slurm:SlurmBatchSystem",
    "grid_engine": "toil.runtime.batch.gridengine:GridEngineBatchSystem",
}
ALIASES = {"singleMachine": "single_machine", "single-machine": "single_machine", "local": "single_machine",
           "gridengine": "grid_engine", "gridEngine": "grid_engine", "Slurm": "slurm"}
DEFAULT_BATCH_SYSTEM = "single_machine"


def register_batch_system(name: str, factory: Callable[[], Any]) -> None:
    """Make ``--batchSystem NAME`` run the class ``factory()`` returns (a subclass of the batch system base)."""
    BATCH_SYSTEMS[name] = factory


def batch_system_names() -> list[str]:
    return list(BATCH_SYSTEMS) + list(ALIASES)


def batch_system_class(name: str) -> Any:
    name = ALIASES.get(name, name)
    if name not in BATCH_SYSTEMS:
        raise ToilUserError(f"unknown batch system {name!r}; choose one of {', '.join(BATCH_SYSTEMS)}")
    entry = BATCH_SYSTEMS[name]
    if not isinstance(entry, str):
        return entry()
    module, _, cls = entry.partition(":")
    return getattr(importlib.import_module(module), cls)
