"""Fault injection for crash-safety tests: die at a named point of the leader.

Set ``TOIL_TEST_CRASH_AT=<point>:<n>`` to SIGKILL this process the n-th time
it passes ``<point>``. Unset (always, outside tests), every call is a dict
lookup that finds nothing.
"""
from __future__ import annotations

import os
import signal

_spec = os.environ.get("TOIL_TEST_CRASH_AT", "")
_point, _, _count = _spec.partition(":")
_remaining = int(_count) if _count.isdigit() else 1
_passes: dict[str, int] = {}


def armed(point: str) -> bool:
    """True if the next ``maybe_crash(point)`` would kill the process."""
    return bool(_spec) and point == _point and _passes.get(point, 0) + 1 >= _remaining


def maybe_crash(point: str) -> None:
    if not _spec or point != _point:
        return
    _passes[point] = _passes.get(point, 0) + 1
    if _passes[point] >= _remaining:
        os.kill(os.getpid(), signal.SIGKILL)
