"""Toil's ``toil.batchSystems.registry``: name batch systems for ``--batchSystem`` (the plugin API)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from toil.exceptions import ToilUserError
from toil.runtime.batch import DEFAULT_BATCH_SYSTEM, batch_system_class, batch_system_names, register_batch_system


def add_batch_system_factory(key: str, class_factory: Callable[[], type[Any]]) -> None:
    """Register ``class_factory`` (it returns a batch system class, not an instance) as ``--batchSystem key``."""
    register_batch_system(key, class_factory)


addBatchSystemFactory = add_batch_system_factory  # the older spelling, which toil_container calls


def get_batch_systems() -> Sequence[str]:
    """The names ``--batchSystem`` accepts."""
    return batch_system_names()


def get_batch_system(key: str) -> type[Any]:
    """The class registered as ``key``; KeyError if there is none (as in Toil)."""
    try:
        return batch_system_class(key)
    except ToilUserError as e:
        raise KeyError(str(e)) from None


__all__ = [
    "add_batch_system_factory",
    "addBatchSystemFactory",
    "get_batch_systems",
    "get_batch_system",
    "DEFAULT_BATCH_SYSTEM",
]
