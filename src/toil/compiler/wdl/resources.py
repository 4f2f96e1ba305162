"""A task's evaluated runtime section -> the IR's resources and retry budget.

Follows what WDL runners accept in practice: ``cpu`` (rounded up, at least 1
core), ``memory`` ("4 GiB", "4G", bytes), ``disks`` (Cromwell's
``local-disk 10 SSD`` and ``/mnt 20 HDD`` mounts, summed, or a plain size; a
bare number means GiB as in Cromwell), ``gpu``/``gpuCount``/``gpuType``,
``preemptible`` (Cromwell's count of preemptible attempts) and ``maxRetries``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from WDL import Type, Value
from WDL._util import parse_byte_size

from toil.compiler.ir import Resources, accelerators_key
from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.runtime.config import Config

GIB = 1024**3


@dataclass
class TaskResources:
    resources: Resources
    retries: int | None = None  # None: the workflow's --retryCount
    preemptible_tries: int = 0
    notes: list[str] = field(default_factory=list)


def _size(text: str, what: str) -> int:
    text = text.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return int(float(text) * GIB) if what == "disks" else int(float(text))
        return parse_byte_size(text)
    except ValueError:
        raise ToilUserError(f"runtime {what}: cannot read the size {text!r}") from None


def disk_bytes(spec: str) -> int:
    """Cromwell's ``local-disk 10 SSD, /mnt 20 HDD`` (GiB) or a plain size, summed over mounts."""
    total = 0
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) >= 2 and (words[0] == "local-disk" or words[0].startswith("/")):
            size = words[1]
            total += _size(size, "disks") if not size.replace(".", "", 1).isdigit() else int(float(size) * GIB)
        elif len(words) == 2 and words[1].upper() in ("SSD", "HDD", "LOCAL"):
            total += int(float(words[0]) * GIB)
        else:
            total += _size(" ".join(words), "disks")
    return total


def _py(v: Value.Base) -> Any:
    return v.json


def from_runtime(runtime: dict[str, Value.Base], defaults: Resources) -> TaskResources:
    """Map evaluated runtime values onto resources; absent keys take the workflow's defaults."""
    cores, memory, disk = defaults.cores, defaults.memory, defaults.disk
    accelerators: list[dict[str, Any]] = []
    out = TaskResources(defaults)
    if "cpu" in runtime:
        cores = float(max(1, math.ceil(runtime["cpu"].coerce(Type.Float()).value)))
    if "memory" in runtime:
        mem = runtime["memory"]
        memory = int(mem.value) if isinstance(mem, Value.Int) else _size(str(_py(mem)), "memory")
    disks = runtime.get("disks", runtime.get("disk"))
    if disks is not None:
        if isinstance(disks, Value.Int):
            disk = int(disks.value) * GIB if disks.value < 1 << 20 else int(disks.value)
        elif isinstance(disks, Value.Array):
            disk = sum(disk_bytes(str(_py(d))) for d in disks.value)
        else:
            disk = disk_bytes(str(_py(disks)))
    gpu_count = 0
    if "gpuCount" in runtime:
        gpu_count = int(runtime["gpuCount"].coerce(Type.Int()).value)
    elif "gpu" in runtime:
        g = runtime["gpu"]
        if isinstance(g, Value.Boolean):
            gpu_count = 1 if g.value else 0
        else:
            gpu_count = int(g.coerce(Type.Int()).value)
    if gpu_count > 0:
        acc: dict[str, Any] = {"kind": "gpu", "count": gpu_count}
        if "gpuType" in runtime:
            acc["model"] = str(_py(runtime["gpuType"]))
        accelerators.append(acc)
    if "preemptible" in runtime:
        p = runtime["preemptible"]
        out.preemptible_tries = int(p.value) if not isinstance(p, Value.Boolean) else int(p.value)
    if "maxRetries" in runtime:
        out.retries = max(0, int(runtime["maxRetries"].coerce(Type.Int()).value))
    out.resources = Resources(cores, int(memory), int(disk), accelerators_key(accelerators), out.preemptible_tries > 0)
    return out


def clamp(resources: Resources, limits: Resources | None) -> Resources:
    """Cores, memory and disk cut to what one machine can give (as miniwdl does on one host).

    Only for the single-machine batch system: WDL written for the cloud often
    asks for more than a laptop has, and the task can still run.
    """
    return resources if limits is None else resources.capped(limits)


def machine_limits(config: Config) -> Resources | None:
    """What the single-machine batch system can give one job; None for other batch systems."""
    if config.batchSystem != "single_machine":
        return None
    import shutil
    import tempfile

    from toil.lib.host import cpu_count, physical_memory

    free = shutil.disk_usage(config.workDir or tempfile.gettempdir()).free
    return Resources(
        min(float(config.maxCores), float(cpu_count())),
        min(int(config.maxMemory), physical_memory()),
        min(int(config.maxDisk), int(free)),
    )
