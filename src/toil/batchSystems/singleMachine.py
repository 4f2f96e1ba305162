"""Toil's ``toil.batchSystems.singleMachine``: the single_machine batch system."""

from toil.runtime.batch import ToilConstructor
from toil.runtime.batch.local.system import LocalBatchSystem


class SingleMachineBatchSystem(ToilConstructor, LocalBatchSystem):
    """single_machine, built with a context or, in a subclass written for Toil, with Toil's arguments."""


__all__ = ["SingleMachineBatchSystem"]
