"""Toil's oldest path for ``FileID`` (``toil.fileStore``), which older workflows try after ``toil.fileStores``."""

from toil.runtime.worker.filestore import FileID

__all__ = ["FileID"]
