"""Toil's ``toil.lib.threading``: cpu_count as the scheduler sees it."""
from toil.runtime.batch.local import cpu_count

__all__ = ["cpu_count"]
