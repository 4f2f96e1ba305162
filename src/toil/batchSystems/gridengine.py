"""Toil's ``toil.batchSystems.gridengine``: the Grid Engine batch system."""
from toil.runtime.batch.gridengine import GridEngineBatchSystem

__all__ = ["GridEngineBatchSystem"]
