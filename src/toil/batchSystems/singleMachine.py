"""Toil's ``toil.batchSystems.singleMachine``: the single_machine batch system."""
from toil.runtime.batch.local import LocalBatchSystem as SingleMachineBatchSystem

__all__ = ["SingleMachineBatchSystem"]
