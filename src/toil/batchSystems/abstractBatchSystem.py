"""Toil's ``toil.batchSystems.abstractBatchSystem``: where InsufficientSystemResources lives."""
from toil.exceptions import InsufficientSystemResources
from toil.runtime.batch.base import BatchSystem as AbstractBatchSystem

__all__ = ["AbstractBatchSystem", "InsufficientSystemResources"]
