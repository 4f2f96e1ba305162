"""Toil's ``toil.lib.resources``: CPU time and memory of this process and its children."""

from __future__ import annotations

import resource


def get_total_cpu_time_and_memory_usage() -> tuple[float, int]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, me.ru_maxrss + kids.ru_maxrss)


def get_total_cpu_time() -> float:
    return get_total_cpu_time_and_memory_usage()[0]
