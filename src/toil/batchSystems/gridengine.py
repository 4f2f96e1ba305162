"""Toil's ``toil.batchSystems.gridengine``: the Grid Engine batch system."""

from toil.runtime.batch import ToilConstructor
from toil.runtime.batch.remote.gridengine import GridEngineBatchSystem as _GridEngine


class GridEngineBatchSystem(ToilConstructor, _GridEngine):
    """grid_engine, built with a context or, in a subclass written for Toil, with Toil's arguments."""


__all__ = ["GridEngineBatchSystem"]
