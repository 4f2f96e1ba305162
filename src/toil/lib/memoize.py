"""Toil's ``toil.lib.memoize``: cache a function's results by its arguments."""

from __future__ import annotations

import datetime
import threading
from functools import lru_cache, wraps
from typing import Any, Callable, TypeVar

from toil.lib.conversions import strtobool

A = TypeVar("A")
R = TypeVar("R")

memoize = lru_cache(maxsize=None)
"""Cache a function's result per arguments (threads may compute one result twice; see ``sync_memoize``)."""


def sync_memoize(f: Callable[..., R]) -> Callable[..., R]:
    """Like ``memoize``, but each result is computed once even when threads race for it."""
    memory: dict[tuple[Any, ...], R] = {}
    lock = threading.Lock()

    @wraps(f)
    def cached(*args: Any) -> R:
        if args in memory:
            return memory[args]
        with lock:
            if args not in memory:
                memory[args] = f(*args)
            return memory[args]

    return cached


def parse_iso_utc(s: str) -> datetime.datetime:
    """Parse an ISO 8601 UTC time such as '2016-04-27T00:28:04.000Z' (the Z is required)."""
    if not s.endswith("Z"):
        raise ValueError(f"not an ISO 8601 UTC time (no trailing Z): {s!r}")
    return datetime.datetime.fromisoformat(s[:-1]).replace(tzinfo=None)


def strict_bool(s: str) -> bool:
    """'true' or 'false' (any case), else ValueError."""
    if s.lower() not in ("true", "false"):
        raise ValueError(f"not a boolean: {s!r}")
    return strtobool(s)


__all__ = ["memoize", "sync_memoize", "parse_iso_utc", "strict_bool"]
