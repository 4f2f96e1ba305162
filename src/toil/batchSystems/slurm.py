"""Toil's ``toil.batchSystems.slurm``: the Slurm batch system (with its PartitionSet) and Slurm's time format."""
from toil.runtime.batch.slurm import SlurmBatchSystem
from toil.runtime.batch.slurm_cluster import parse_slurm_time

__all__ = ["SlurmBatchSystem", "parse_slurm_time"]
