"""Toil's ``toil.fileStores.cachingFileStore`` (one file store implementation here)."""
from toil.runtime.filestore import AbstractFileStore as CachingFileStore

__all__ = ["CachingFileStore"]
