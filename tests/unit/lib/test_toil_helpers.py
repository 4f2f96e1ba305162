"""Toil's small helpers at toil.lib.* and toil.* behave as Toil's do."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

import toil
from toil.lib import accelerators, bioio, docker, misc
from toil.lib.memoize import memoize, sync_memoize
from toil.lib.threading import ExceptionalThread


def fake_command(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_call_command_returns_stdout_and_raises_with_stderr(tmp_path: Path) -> None:
    assert misc.call_command(["echo", "hi"]) == "hi\n"
    with pytest.raises(misc.CalledProcessErrorStderr) as e:
        misc.call_command(["sh", "-c", "echo broken >&2; exit 3"])
    assert e.value.returncode == 3 and "exit status 3: broken" in str(e.value)


def test_misc_values_follow_toils_forms() -> None:
    backoff = misc.truncExpBackoff()
    waits = [next(backoff) for _ in range(13)]
    assert waits[0] == 0 and all(2**i <= waits[i + 1] < 2**i + 1 for i in range(10)) and waits[-1] == 1024
    assert misc.seconds_to_duration(1.5) == "PT1.500S" and misc.slow_down(0) > 0
    assert misc.get_user_name() and misc.get_public_ip().count(".") == 3
    assert misc.unix_seconds_to_timestamp(0).startswith("1970-01-01T00:00:00")


def test_bioio_system_runs_lists_and_shell_strings_and_raises(tmp_path: Path) -> None:
    out = tmp_path / "o"
    bioio.system(["sh", "-c", f"echo list > {out}"])
    assert out.read_text() == "list\n"
    bioio.system(f"echo shell | tr a-z A-Z > {out}")  # a string is a shell command line, as in Toil
    assert out.read_text() == "SHELL\n"
    with pytest.raises(subprocess.CalledProcessError):
        bioio.system(["false"])
    temp = bioio.getTempFile(".txt", str(tmp_path))
    assert temp.startswith(str(tmp_path)) and temp.endswith(".txt") and os.path.getsize(temp) == 0
    logger = logging.getLogger("toil-test-bioio")
    logger.setLevel(logging.WARNING)
    assert bioio.getLogLevelString(logger) == "WARNING"


def test_removed_docker_calls_raise_pointing_at_api_docker_call() -> None:
    for removed in (docker.dockerCall, docker.dockerCheckOutput, docker.subprocessDockerCall):
        with pytest.raises(RuntimeError, match="apiDockerCall"):
            removed(None, tool="ubuntu")
    name = docker.getContainerName(type("J", (), {"description": "my job/1 'x'"})())
    assert name.startswith("toil--myjob1x--") and all(c.isalnum() or c in "_.-" for c in name)


def test_gpu_counts_come_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accelerators.count_nvidia_gpus.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert accelerators.count_nvidia_gpus() == 0  # no nvidia-smi
    accelerators.count_nvidia_gpus.cache_clear()
    fake_command(tmp_path, "nvidia-smi", "echo '<nvidia_smi_log><attached_gpus>2</attached_gpus></nvidia_smi_log>'\n")
    assert accelerators.count_nvidia_gpus() == 2
    for variable in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        monkeypatch.delenv(variable, raising=False)
    assert accelerators.get_host_accelerator_numbers() == [0, 1]
    monkeypatch.setenv("SLURM_STEP_GPUS", "3,5")
    assert accelerators.get_host_accelerator_numbers() == [3, 5]
    assert accelerators.get_restrictive_environment_for_local_accelerators([1])["CUDA_VISIBLE_DEVICES"] == "1"
    accelerators.count_nvidia_gpus.cache_clear()


def test_memoize_and_sync_memoize_compute_once() -> None:
    calls: list[int] = []

    @memoize
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    @sync_memoize
    def cube(x: int) -> int:
        calls.append(-x)
        return x**3

    assert [square(3), square(3), cube(2), cube(2)] == [9, 9, 8, 8] and calls == [3, -2]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # Toil's thread prints it too
def test_exceptional_thread_reraises_in_the_joining_thread() -> None:
    def boom() -> None:
        raise ValueError("inside")

    thread = ExceptionalThread(target=boom)
    thread.start()
    with pytest.raises(ValueError, match="inside"):
        thread.join()


def test_top_level_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert toil.physicalMemory() > 0 and toil.physicalDisk("/") >= 0
    assert toil.which("sh") and toil.which("no-such-command-here") is None
    assert toil.toilPackageDirPath().endswith("/toil")
    monkeypatch.setenv("TOIL_DOCKER_REGISTRY", "registry.example:5000/lab")
    monkeypatch.setenv("TOIL_DOCKER_NAME", "appliance")
    monkeypatch.delenv("TOIL_APPLIANCE_SELF", raising=False)
    assert toil.applianceSelf() == f"registry.example:5000/lab/appliance:{toil.version.dockerTag}"
    monkeypatch.setenv("TOIL_APPLIANCE_SELF", "mine/toil:1")
    assert toil.applianceSelf() == "mine/toil:1"
    monkeypatch.setenv("TOIL_APPLIANCE_SELF", "bad name")
    with pytest.raises(ValueError, match="TOIL_APPLIANCE_SELF"):
        toil.applianceSelf()
