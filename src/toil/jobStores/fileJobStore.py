"""Toil's ``toil.jobStores.fileJobStore``: the ``file:`` job store class (``isinstance(toil._jobStore, FileJobStore)``
tells a workflow its store is a local directory)."""

from toil.runtime.jobstores.file.store import FileJobStore

__all__ = ["FileJobStore"]
