"""Toil's ``toil.batchSystems.abstractBatchSystem``: the batch system base and the data types of Toil's
batch system API (what a job's end looks like), which user batch systems import."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from toil.exceptions import InsufficientSystemResources
from toil.runtime.batch.base import BatchSystem as AbstractBatchSystem

EXIT_STATUS_UNAVAILABLE_VALUE = 255


class BatchJobExitReason(enum.IntEnum):
    """Why a batch job ended (Toil's values)."""

    FINISHED = 1
    FAILED = 2
    LOST = 3
    KILLED = 4
    ERROR = 5
    MEMLIMIT = 6
    MISSING = 7
    MAXJOBDURATION = 8
    PARTITION = 9
    TIMELIMIT = 10

    @classmethod
    def to_string(cls, value: int) -> str:
        """The member's name, or the number itself when it is not a member."""
        try:
            return cls(value).name
        except ValueError:
            return str(value)


@dataclass
class UpdatedBatchJobInfo:
    """A batch job that ended: its id, exit status (255 when unknown), reason, wall time and engine id."""

    jobID: int
    exitStatus: int = EXIT_STATUS_UNAVAILABLE_VALUE
    exitReason: BatchJobExitReason | None = None
    wallTime: float | int | None = None
    backing_id: str | None = None


class WorkerCleanupInfo(NamedTuple):
    work_dir: str | None
    coordination_dir: str | None
    workflow_id: str
    clean_work_dir: str


__all__ = [
    "AbstractBatchSystem",
    "InsufficientSystemResources",
    "EXIT_STATUS_UNAVAILABLE_VALUE",
    "BatchJobExitReason",
    "UpdatedBatchJobInfo",
    "WorkerCleanupInfo",
]
