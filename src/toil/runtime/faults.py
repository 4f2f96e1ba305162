"""Fault injection for crash-safety tests: die at a named point of the leader.

Set ``TOIL_TEST_CRASH_AT=<point>:<n>`` to SIGKILL this process the n-th time
it passes ``<point>``. Unset (always, outside tests), every call is a dict
lookup that finds nothing.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

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


# Slow or failing file system calls, for the chaos suite: TOIL_TEST_FS_FAULTS="fail=0.05,slow=0.05,delay=0.2,
# seed=1" makes each job store call fail with EIO (probability fail) or first sleep delay seconds (probability
# slow), from a seeded generator per process.
_fs_spec = dict(item.partition("=")[::2] for item in os.environ.get("TOIL_TEST_FS_FAULTS", "").split(",") if item)
_fs_random: "random.Random | None" = None


def maybe_fs_fault(op: str) -> None:
    """Sleep or raise an injected EIO before a job store call, as TOIL_TEST_FS_FAULTS asks (tests only)."""
    global _fs_random
    if not _fs_spec:
        return
    if _fs_random is None:
        import random

        _fs_random = random.Random(f"{_fs_spec.get('seed', '0')}-{os.getpid()}")
    if _fs_random.random() < float(_fs_spec.get("slow", 0)):
        import time

        time.sleep(float(_fs_spec.get("delay", 0.1)))
    if _fs_random.random() < float(_fs_spec.get("fail", 0)):
        import errno

        raise OSError(errno.EIO, f"injected I/O error in {op}")
