"""Toil's ``toil.fileStores.cachingFileStore`` (one file store implementation here)."""

from toil.runtime.worker.filestore import AbstractFileStore as CachingFileStore

__all__ = ["CachingFileStore"]
