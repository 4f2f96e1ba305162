"""Errors a user can act on.

Every exception here carries a message written for the person running the
workflow. ``ToilUserError`` subclasses are shown as one line (no traceback)
when they end a program; see ``toil.runtime.errors.install_excepthook``.
"""

from __future__ import annotations

from typing import Iterable


class ToilUserError(Exception):
    """An error caused by input, options or the workflow, reported without a traceback."""

    exit_code = 1
    retryable = False  # a job that raised it fails for good: running it again cannot help


class FailedJobsException(ToilUserError):
    """The workflow ended with jobs that failed after all their retries."""

    def __init__(
        self,
        job_store: str,
        failed_jobs: Iterable[str] = (),
        exit_code: int = 1,
        detail: str = "",
        reasons: Iterable[str] = (),
    ) -> None:
        self.jobStoreLocator = job_store
        self.failedJobs = list(failed_jobs)
        self.reasons = list(reasons)  # why each failed job failed (one line each)
        self.exit_code = exit_code
        names = ", ".join(self.failedJobs[:5]) + (" ..." if len(self.failedJobs) > 5 else "")
        msg = (
            f"workflow failed: {len(self.failedJobs)} job(s) failed ({names}); "
            f"the job store {job_store} is kept: fix the cause and rerun with --restart"
        )
        if detail:
            msg = (
                f"workflow failed: {detail}; the job store {job_store} is kept: fix the cause and rerun with --restart"
            )
        super().__init__(msg)


class JobStoreExistsException(ToilUserError):
    def __init__(self, locator: str) -> None:
        super().__init__(
            f"the job store {locator} already exists: rerun with --restart to resume the workflow, "
            f"or remove it with 'toil clean {locator}' to start from scratch"
        )
        self.locator = locator


class NoSuchJobStoreException(ToilUserError):
    def __init__(self, locator: str, hint: str = "") -> None:
        super().__init__(f"the job store {locator} does not exist" + (f"{hint}" if hint else ""))
        self.locator = locator


class JobStoreLockedError(ToilUserError):
    """Another leader is running on this job store."""


class JobStoreCorruptError(ToilUserError):
    """The job store's persisted state is damaged beyond the last consistent record."""


class InsufficientSystemResources(ToilUserError):
    """A job asks for more than the batch system can ever give it."""


class ToilRestartException(ToilUserError):
    """start() was called on a workflow that must be restarted, or the reverse."""


class WorkflowInterrupted(ToilUserError):
    """The leader was asked to stop (Ctrl-C, SIGTERM, toil kill); jobs were killed, the job store kept."""

    exit_code = 130


class JobStoreUnavailableError(ToilUserError):
    """The job store's service kept failing after every retry; the state is intact (rerun with --restart)."""

    retryable = True  # a job that met it may well succeed when run again


class JobStoreWriteError(ToilUserError):
    """The job store cannot be written (disk full, read-only, permissions): the workflow stops, resumable."""
