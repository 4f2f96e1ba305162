"""Toil's ``toil.lib.accelerators``: the GPUs this machine has."""

from __future__ import annotations

import os
import string
import subprocess
from xml.dom import minidom

from toil.lib.memoize import memoize

_ERRORS = (OSError, subprocess.SubprocessError, UnicodeDecodeError, ValueError, IndexError, AttributeError)


def have_working_nvidia_smi() -> bool:
    """Whether ``nvidia-smi`` runs here (there may still be no GPU)."""
    try:
        subprocess.check_call(["nvidia-smi"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except _ERRORS:
        return False
    return True


@memoize
def count_nvidia_gpus() -> int:
    """The number of NVIDIA GPUs ``nvidia-smi`` sees, or 0 when it does not work (as cwltool counts them)."""
    try:
        xml = subprocess.check_output(["nvidia-smi", "-q", "-x"], stderr=subprocess.DEVNULL)
        node = minidom.parseString(xml).getElementsByTagName("attached_gpus")[0].firstChild
        return int(node.data)  # type: ignore[union-attr]
    except Exception:  # no nvidia-smi, it failed, or its XML is not what cwltool expects (ExpatError ...)
        return 0


@memoize
def count_amd_gpus() -> int:
    """The number of AMD GPUs ``amd-smi`` (else ``rocm-smi``) reports, or 0."""
    try:
        out = subprocess.check_output(["amd-smi", "static"], stderr=subprocess.DEVNULL).decode()
        return len([line for line in out.split("\n") if line.startswith("gpu")])
    except _ERRORS:
        pass
    try:
        out = subprocess.check_output(["rocm-smi"], stderr=subprocess.DEVNULL).decode()
        return len([line for line in out.split("\n") if line and line[0] in string.digits])
    except _ERRORS:
        return 0


def get_host_accelerator_numbers() -> list[int]:
    """The host-side numbers of the GPUs this process may use: Slurm's, then CUDA's and NVIDIA's device lists,
    else every NVIDIA GPU."""
    for variable in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        numbers = [int(part) for part in os.environ.get(variable, "").split(",") if part.isnumeric()]
        if numbers:
            return numbers
    return list(range(count_nvidia_gpus()))


@memoize
def get_individual_local_accelerators() -> list[dict[str, object]]:
    """One requirement per local GPU ({'kind': 'gpu', 'brand': ..., 'api': ..., 'count': 1})."""
    nvidia = [{"kind": "gpu", "brand": "nvidia", "api": "cuda", "count": 1} for _ in range(count_nvidia_gpus())]
    amd = [{"kind": "gpu", "brand": "amd", "api": "rocm", "count": 1} for _ in range(count_amd_gpus())]
    return [*nvidia, *amd]


def get_restrictive_environment_for_local_accelerators(accelerator_numbers: set[int] | list[int]) -> dict[str, str]:
    """The environment that limits a process (and Singularity containers it starts) to the given GPUs."""
    numbers = ",".join(str(n) for n in accelerator_numbers)
    return {"CUDA_VISIBLE_DEVICES": numbers, "SINGULARITYENV_CUDA_VISIBLE_DEVICES": numbers}


__all__ = [
    "have_working_nvidia_smi",
    "count_nvidia_gpus",
    "count_amd_gpus",
    "get_host_accelerator_numbers",
    "get_individual_local_accelerators",
    "get_restrictive_environment_for_local_accelerators",
]
