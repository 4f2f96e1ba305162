"""Toil's ``toil.batchSystems.lsf``, importable so that code built on it loads; LSF itself is not supported here.

Subclassing ``LSFBatchSystem`` (and its ``Worker``) works, as toil_container does at import time; running one
fails at once with one line saying so and naming the batch systems there are.
"""

from __future__ import annotations

import logging
from typing import Any

from toil.exceptions import ToilUserError
from toil.runtime.batch import BATCH_SYSTEMS

logger = logging.getLogger("toil.batchSystems.lsf")


class LSFBatchSystem:
    """IBM Spectrum LSF, as Toil names it; not supported by this implementation."""

    class Worker:
        """Toil's per-batch-system polling thread; here only a base for subclasses to name."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            _refuse()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


def _refuse() -> None:
    raise ToilUserError(f"the LSF batch system is not supported here; use one of {', '.join(BATCH_SYSTEMS)}")


__all__ = ["LSFBatchSystem", "logger"]
