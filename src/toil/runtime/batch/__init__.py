"""Batch systems: where issued jobs run. Looked up by Toil's names in one registry.

Built-in entries name a module and class, imported only when used; ``register_batch_system`` adds a
factory (a function returning the class), as Toil's plugin API does (``toil.batchSystems.registry``).
``new_batch_system`` builds one for a workflow: ``cls(context)``, or Toil's keywords for a plugin whose
constructor takes Toil's ``(config, maxCores, maxMemory, maxDisk)``.
"""

from __future__ import annotations

import importlib
import inspect
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, cast

from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchContext, BatchSystem

if TYPE_CHECKING:
    from toil.runtime.config import Config

# A factory registered at run time: it returns the batch system class, not an instance.
BatchSystemFactory = Callable[[], type[BatchSystem]]

# name -> "module:class" (built in) or a factory returning the class (registered at run time)
BATCH_SYSTEMS: dict[str, str | BatchSystemFactory] = {
    "single_machine": "toil.runtime.batch.local.system:LocalBatchSystem",
    "slurm": "toil.runtime.batch.remote.slurm:SlurmBatchSystem",
    "grid_engine": "toil.runtime.batch.remote.gridengine:GridEngineBatchSystem",
    "kubernetes": "toil.runtime.batch.remote.kubernetes.system:KubernetesBatchSystem",
    "mesos": "toil.runtime.batch.remote.mesos.system:MesosBatchSystem",
}
ALIASES = {
    "singleMachine": "single_machine",
    "single-machine": "single_machine",
    "local": "single_machine",
    "gridengine": "grid_engine",
    "gridEngine": "grid_engine",
    "Slurm": "slurm",
    "Kubernetes": "kubernetes",
    "Mesos": "mesos",
}
DEFAULT_BATCH_SYSTEM = "single_machine"


def register_batch_system(name: str, factory: BatchSystemFactory) -> None:
    """Make ``--batchSystem NAME`` run the class ``factory()`` returns (a subclass of the batch system base)."""
    BATCH_SYSTEMS[name] = factory


def batch_system_names() -> list[str]:
    return list(BATCH_SYSTEMS) + list(ALIASES)


def batch_system_class(name: str) -> type[BatchSystem]:
    name = ALIASES.get(name, name)
    if name not in BATCH_SYSTEMS:
        raise ToilUserError(f"unknown batch system {name!r}; choose one of {', '.join(BATCH_SYSTEMS)}")
    entry = BATCH_SYSTEMS[name]
    if not isinstance(entry, str):
        return entry()
    module, _, name_in_module = entry.partition(":")
    cls: type[BatchSystem] = getattr(importlib.import_module(module), name_in_module)
    return cls


# The context of the batch system being built Toil's way, for the constructors of Toil's facades to find.
_BUILDING: ContextVar[BatchContext | None] = ContextVar("toil_batch_context", default=None)


def new_batch_system(cls: type[BatchSystem], context: BatchContext) -> BatchSystem:
    """An instance of the batch system class ``cls`` for the workflow ``context`` describes."""
    if not _takes_toils_arguments(cls):
        return cls(context)
    # Its constructor takes Toil's keywords (its signature says so), not the base class's one context.
    toil_style = cast(Callable[..., BatchSystem], cls)
    token = _BUILDING.set(context)
    try:
        c = context.config
        return toil_style(config=c, maxCores=c.maxCores, maxMemory=c.maxMemory, maxDisk=c.maxDisk)
    finally:
        _BUILDING.reset(token)


def _takes_toils_arguments(cls: type[BatchSystem]) -> bool:
    try:
        return "maxCores" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def context_for(first: BatchContext | Config) -> BatchContext:
    """The context a facade's constructor was given: its first argument, or, when it was called Toil's way
    (``config, maxCores, maxMemory, maxDisk``), the one of the workflow whose batch system is being built."""
    if isinstance(first, BatchContext):
        return first
    building = _BUILDING.get()
    if building is None:
        raise ToilUserError(
            "a batch system called with Toil's arguments (config, maxCores, maxMemory, maxDisk) "
            "can only be built by a running workflow (--batchSystem NAME)"
        )
    return building


class ToilConstructor(BatchSystem):
    """A base of Toil's facades: built with a context, or with Toil's arguments by ``new_batch_system``."""

    def __init__(
        self,
        config: BatchContext | Config,
        maxCores: float | None = None,
        maxMemory: int | None = None,  # noqa: N803
        maxDisk: int | None = None,
        **_: Any,
    ) -> None:
        super().__init__(context_for(config))
