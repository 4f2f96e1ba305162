"""Toil's ``toil.fileStores.nonCachingFileStore`` (one file store implementation here)."""

from toil.runtime.worker.filestore import AbstractFileStore as NonCachingFileStore

__all__ = ["NonCachingFileStore"]
