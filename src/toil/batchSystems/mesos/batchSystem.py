"""Toil's ``toil.batchSystems.mesos.batchSystem``: the Mesos batch system."""

from toil.runtime.batch import ToilConstructor
from toil.runtime.batch.remote.mesos.system import MesosBatchSystem as _Mesos


class MesosBatchSystem(ToilConstructor, _Mesos):
    """mesos, built with a context or, in a subclass written for Toil, with Toil's arguments."""


__all__ = ["MesosBatchSystem"]
