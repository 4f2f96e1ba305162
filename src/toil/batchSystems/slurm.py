"""Toil's ``toil.batchSystems.slurm``: the Slurm batch system (with its PartitionSet) and Slurm's time format."""

from toil.runtime.batch import ToilConstructor
from toil.runtime.batch.remote.slurm import SlurmBatchSystem as _Slurm
from toil.runtime.batch.remote.slurm_cluster import parse_slurm_time


class SlurmBatchSystem(ToilConstructor, _Slurm):
    """slurm, built with a context or, in a subclass written for Toil, with Toil's arguments."""


__all__ = ["SlurmBatchSystem", "parse_slurm_time"]
