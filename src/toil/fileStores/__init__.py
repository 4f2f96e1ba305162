"""Toil's ``toil.fileStores``: ``FileID``."""

from toil.runtime.worker.filestore import FileID

__all__ = ["FileID"]
