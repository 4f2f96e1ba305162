"""Job stores: where a workflow's state and files persist."""

from __future__ import annotations

from toil.runtime.jobstores.base import JobStore, NoSuchFileException
from toil.runtime.jobstores.journal import Journal
from toil.runtime.jobstores.locator import normalize_locator, parse_locator
from toil.runtime.jobstores.registry import open_store, register_job_store


def open_job_store(locator: str) -> JobStore:
    """The job store a locator names (it may not exist yet)."""
    return open_store(*parse_locator(locator))


__all__ = [
    "JobStore",
    "Journal",
    "NoSuchFileException",
    "open_job_store",
    "normalize_locator",
    "parse_locator",
    "register_job_store",
]
