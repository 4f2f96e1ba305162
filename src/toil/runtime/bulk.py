"""Helpers for building large in-memory state at once (replaying a journal of many thousand jobs)."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading.

    Building tens of thousands of nodes triggers full collections that scan
    everything built so far: on a 100k-job store they took longer than the
    load itself. Nothing made during a load is garbage, so nothing is lost.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
