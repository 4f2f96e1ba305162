"""Toil's ``toil.leader``: where older scripts import FailedJobsException from."""

from toil.exceptions import FailedJobsException

__all__ = ["FailedJobsException"]
