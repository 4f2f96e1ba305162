"""Toil's ``toil.fileStores``: ``FileID``."""
from toil.runtime.filestore import FileID

__all__ = ["FileID"]
