"""Toil's ``toil.lib.humanize`` (older spelling of ``toil.lib.conversions``' size helpers)."""

from toil.lib.conversions import bytes2human, human2bytes

__all__ = ["bytes2human", "human2bytes"]
