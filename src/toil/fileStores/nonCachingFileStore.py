"""Toil's ``toil.fileStores.nonCachingFileStore`` (one file store implementation here)."""
from toil.runtime.filestore import AbstractFileStore as NonCachingFileStore

__all__ = ["NonCachingFileStore"]
