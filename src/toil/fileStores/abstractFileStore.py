"""Toil's ``toil.fileStores.abstractFileStore``: the file store a job's run() receives."""

from toil.runtime.worker.filestore import AbstractFileStore, FileID

__all__ = ["AbstractFileStore", "FileID"]
