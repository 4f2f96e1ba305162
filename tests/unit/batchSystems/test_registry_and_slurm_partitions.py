"""Toil's batch system plugin API and the Slurm partitions user code reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from toil.batchSystems import registry
from toil.batchSystems.abstractBatchSystem import BatchJobExitReason, UpdatedBatchJobInfo
from toil.batchSystems.lsf import LSFBatchSystem
from toil.batchSystems.singleMachine import SingleMachineBatchSystem
from toil.batchSystems.slurm import SlurmBatchSystem
from toil.exceptions import ToilUserError
from toil.job import Job
from toil.runtime.batch import BATCH_SYSTEMS, batch_system_class

SINFO = """#!/bin/sh
echo 'PARTITION GRES TIMELIMIT PRIORITY CPUS MEMORY'
echo 'short* (null) 1:00:00 10 2 7800'
echo 'long (null) 7-00:00:00 20 8 64000+'
echo 'gpu gpu:2 infinite 5 8 32000'
"""


def test_a_registered_factory_is_a_batch_system_choice() -> None:
    class Mine(SingleMachineBatchSystem):
        pass

    registry.add_batch_system_factory("mine", lambda: Mine)
    try:
        assert registry.get_batch_system("mine") is Mine and batch_system_class("mine") is Mine
        assert "mine" in registry.get_batch_systems()
        options = Job.Runner.getDefaultArgumentParser().parse_args(["js", "--batchSystem", "mine"])
        assert options.batchSystem == "mine"
        with pytest.raises(KeyError):
            registry.get_batch_system("no-such-system")
        assert registry.addBatchSystemFactory is registry.add_batch_system_factory
    finally:
        BATCH_SYSTEMS.pop("mine", None)


def test_lsf_subclasses_load_and_refuse_to_run_in_one_line() -> None:
    class Custom(LSFBatchSystem):  # as toil_container declares its own
        class Worker(LSFBatchSystem.Worker):
            pass

    with pytest.raises(ToilUserError, match="LSF batch system is not supported here; use one of single_machine"):
        Custom()


def test_toils_batch_job_records() -> None:
    info = UpdatedBatchJobInfo(jobID=3, exitStatus=0, exitReason=BatchJobExitReason.FINISHED)
    assert info.wallTime is None and BatchJobExitReason.to_string(6) == "MEMLIMIT"
    assert BatchJobExitReason.to_string(99) == "99"


def test_partition_set_reads_sinfo_and_picks_partitions_as_toil(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sinfo").write_text(SINFO)
    (tmp_path / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    ps = SlurmBatchSystem.PartitionSet()
    assert [(p.partition_name, p.gres, p.time_limit, p.memory) for p in ps.all_partitions or []] == [
        ("short", False, 3600, "7800"),
        ("long", False, 7 * 86400, "64000+"),
        ("gpu", True, float("inf"), "32000"),
    ]
    assert ps.gpu_partitions == {"gpu"} and ps.default_gpu_partition and ps.default_gpu_partition.priority == 5
    assert ps.get_partition(600) == "short"  # the lowest priority without GRES that is long enough
    assert ps.get_partition(86400) == "long"
    assert ps.get_partition(None) is None
    assert ps.get_partition(30 * 86400) == "gpu"  # only the GRES partition is long enough
    assert isinstance(ps.all_partitions[0], SlurmBatchSystem.PartitionInfo)


def test_partition_set_without_sinfo_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    ps = SlurmBatchSystem.PartitionSet()
    assert ps.all_partitions is None and ps.get_partition(60) is None
