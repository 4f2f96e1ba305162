"""Toil's ``toil.jobStores.abstractJobStore``: job store exceptions and the interface."""

from toil.exceptions import JobStoreExistsException, NoSuchJobStoreException
from toil.runtime.jobstores.base import JobStore as AbstractJobStore
from toil.runtime.jobstores.base import NoSuchFileException

__all__ = ["AbstractJobStore", "JobStoreExistsException", "NoSuchJobStoreException", "NoSuchFileException"]
