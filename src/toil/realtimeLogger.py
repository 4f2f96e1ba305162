"""Toil's ``toil.realtimeLogger``: log from jobs straight to the leader (with --realTimeLogging)."""

from __future__ import annotations

import logging
from typing import Any

from toil.runtime.worker.realtime import worker_logger


class _Forwarding(type):
    def __getattr__(cls, name: str) -> Any:
        return getattr(worker_logger(), name)


class RealtimeLogger(metaclass=_Forwarding):
    """``RealtimeLogger.info(...)`` and friends, like a logging.Logger."""

    @classmethod
    def getLogger(cls) -> logging.Logger:
        return worker_logger()


__all__ = ["RealtimeLogger"]
