"""Retry job store calls that fail for a moment (EIO on a network file system, a stale handle, a busy file).

Each retry waits twice as long as the one before (TOIL_JOBSTORE_RETRY_SECONDS, then doubling, at most 30 s)
and logs a warning; after TOIL_JOBSTORE_RETRIES attempts the error goes up as it came. Counts are kept per
call so a worker can report them to the leader and the leader can sum them up at the end of a run.
"""

from __future__ import annotations

import collections
import errno
import functools
import logging
import os
import time
from typing import Any, Callable, TypeVar

from toil.runtime import faults

log = logging.getLogger(__name__)

TRANSIENT = frozenset(
    {errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE, errno.EBUSY, errno.EINTR, errno.ECONNRESET, errno.ENOLCK}
)
CANNOT_WRITE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})  # not transient: a person must act
RETRIED: collections.Counter[str] = collections.Counter()

F = TypeVar("F", bound=Callable[..., Any])


def attempts() -> int:
    return max(1, int(os.environ.get("TOIL_JOBSTORE_RETRIES", "8")))


def first_wait() -> float:
    return float(os.environ.get("TOIL_JOBSTORE_RETRY_SECONDS", "0.1"))


def is_transient(e: OSError) -> bool:
    return e.errno in TRANSIENT


def note_retry(op: str, e: OSError, attempt: int, wait: float) -> None:
    RETRIED[op] += 1
    log.warning(
        "Job store call %s failed (%s); retrying in %.2g s (attempt %d of %d)",
        op,
        e.strerror or e,
        wait,
        attempt + 1,
        attempts(),
    )


def retried(fn: F) -> F:
    """Run a job store call again, with backoff, while it fails with a transient OSError."""
    op = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wait, limit = first_wait(), attempts()
        for attempt in range(1, limit + 1):
            try:
                faults.maybe_fs_fault(op)
                return fn(*args, **kwargs)
            except OSError as e:
                if not is_transient(e) or attempt == limit:
                    raise
                note_retry(op, e, attempt, wait)
                time.sleep(wait)
                wait = min(2 * wait, 30.0)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def summary(counts: collections.Counter[str] | None = None) -> str:
    """'N job store call(s) retried after transient errors (op ×n, ...)', or '' if none was."""
    counts = RETRIED if counts is None else counts
    total = sum(counts.values())
    if not total:
        return ""
    detail = ", ".join(f"{op} ×{n}" for op, n in counts.most_common())
    return f"{total} job store call(s) retried after transient errors ({detail})"
