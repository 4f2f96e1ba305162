"""What Slurm says about itself: its durations, its partitions as ``sinfo`` lists them, and Toil's rule for the
partition a time limit goes to.

The names (PartitionInfo, PartitionSet, all_partitions, get_partition ...) are Toil's: user code such as
cactus reads them through ``SlurmBatchSystem.PartitionSet`` to learn the cluster's node sizes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import NamedTuple

log = logging.getLogger("toil.batch.slurm")


def parse_slurm_time(slurm_time: str) -> int:
    """Seconds in a Slurm duration: 'minutes', 'minutes:seconds', 'hours:minutes:seconds', 'days-hours',
    'days-hours:minutes', 'days-hours:minutes:seconds'. ValueError if it is none of them."""
    text = str(slurm_time).strip()
    days = 0
    if "-" in text:
        head, _, text = text.partition("-")
        days = int(head)
    parts = [int(x) for x in text.split(":")]
    if len(parts) > 3 or any(p < 0 for p in parts) or days < 0:
        raise ValueError(f"not a Slurm time: {slurm_time!r}")
    parts += [0] * ((3 if days else 2) - len(parts))  # 'M' is M:00; 'D-H' is D-H:00:00
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds + days * 86400


def format_slurm_time(seconds: int) -> str:
    """A --time value for a number of seconds (hours:minutes:seconds)."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PartitionInfo(NamedTuple):
    partition_name: str
    gres: bool  # the partition has generic resources (GPUs)
    time_limit: float  # seconds; inf when unlimited
    priority: int
    cpus: str  # as sinfo prints them (e.g. '2', '4+')
    memory: str  # MB per node, as sinfo prints it (e.g. '7800', '16000+')


class PartitionSet:
    """The cluster's partitions (``all_partitions`` stays None when sinfo cannot be asked) and its GPU ones."""

    default_gpu_partition: PartitionInfo | None = None
    all_partitions: list[PartitionInfo] | None = None
    gpu_partitions: set[str] | None = None

    def __init__(self) -> None:
        try:
            self.all_partitions = read_partitions()
        except (OSError, subprocess.CalledProcessError) as e:
            log.warning("Could not retrieve Slurm partition info due to: '%s'.", e)
            return
        gpu = [p for p in self.all_partitions if p.gres]
        self.gpu_partitions = {p.partition_name for p in gpu}
        self.default_gpu_partition = min(gpu, key=lambda p: p.priority) if gpu else None

    def get_partition(self, time_limit: float | None) -> str | None:
        """The partition for a job of ``time_limit`` seconds: long enough, without GRES if possible, then the
        lowest priority, then the shortest limit; None for Slurm's default. RuntimeError if none is long enough."""
        if time_limit is None or self.all_partitions is None:
            return None
        fitting = [p for p in self.all_partitions if p.time_limit >= time_limit]
        if not fitting:
            if self.all_partitions:
                raise RuntimeError(
                    f"Could not find a Slurm partition that can fit a job that runs for {time_limit} seconds"
                )
            return None
        return min(fitting, key=lambda p: (p.gres, p.priority, p.time_limit)).partition_name


def read_partitions() -> list[PartitionInfo]:
    """Every partition ``sinfo -a`` lists (a partition once per node group)."""
    out = subprocess.run(["sinfo", "-a", "-o", "%P %G %l %p %c %m"], capture_output=True, text=True, check=True).stdout
    partitions = []
    for line in out.split("\n")[1:]:
        fields = line.split()
        if len(fields) != 6:
            continue
        name, gres, time_text, priority_text, cpus, memory = fields
        try:
            time_limit: float = parse_slurm_time(time_text)
        except ValueError:
            time_limit = float("inf")  # UNLIMITED (or infinite)
        try:
            priority = int(priority_text)
        except ValueError:
            priority = sys.maxsize
        partitions.append(PartitionInfo(name.rstrip("*"), gres != "(null)", time_limit, priority, cpus, memory))
    return partitions
