"""Job stores: where a workflow's state and files persist."""
from __future__ import annotations

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.base import JobStore, NoSuchFileException
from toil.runtime.jobstores.locator import normalize_locator, parse_locator


def open_job_store(locator: str) -> JobStore:
    """The job store a locator names (it may not exist yet)."""
    kind, rest = parse_locator(locator)
    if kind == "file":
        from toil.runtime.jobstores.file import FileJobStore
        return FileJobStore(rest)
    raise ToilUserError(f"the {kind}: job store is not available in this version; use a file: job store")


__all__ = ["JobStore", "NoSuchFileException", "open_job_store", "normalize_locator", "parse_locator"]
