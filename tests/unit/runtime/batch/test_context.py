"""One constructor context for every batch system; plugins written for Toil's constructor still build; the
capabilities and node descriptions the interface declares."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest

from toil.batchSystems.singleMachine import SingleMachineBatchSystem
from toil.batchSystems.slurm import SlurmBatchSystem as ToilSlurm
from toil.exceptions import ToilUserError
from toil.runtime.batch import BATCH_SYSTEMS, batch_system_class, new_batch_system
from toil.runtime.batch.base import BatchContext, BatchSystem, NodeInfo
from toil.runtime.batch.local.system import LocalBatchSystem
from toil.runtime.batch.remote.gridengine import GridEngineBatchSystem
from toil.runtime.batch.remote.slurm import SlurmBatchSystem
from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore


@pytest.fixture
def context(tmp_path: Path) -> BatchContext:
    config = Config()
    config.workflowID = "ctx-test"
    config.maxCores, config.maxMemory, config.maxDisk = 1, 2**30, 2**30
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json()})
    return BatchContext(config, js, str(tmp_path / "work"), workers_lock_path=None, leader_fds=(7,))


def test_the_local_batch_system_takes_the_context_and_describes_this_machine(context: BatchContext) -> None:
    b = new_batch_system(LocalBatchSystem, context)
    try:
        assert b.context is context and b.config is context.config and b.job_store is context.job_store
        assert b.zygote.close_in_zygote == [7]
        [node] = b.nodes()
        assert dataclasses.replace(node, cpu_busy=None, memory_busy=None) == NodeInfo(
            socket.gethostname(), "127.0.0.1", 1.0, 2**30, b.max_disk, used_cores=0.0, used_memory=0, running_jobs=0
        )
        assert not node.busy and b.queued_tokens() == []
    finally:
        b.shutdown()


class ToilStylePlugin(SingleMachineBatchSystem):
    """As a plugin written for Toil declares its constructor."""

    def __init__(self, config: Any, maxCores: float, maxMemory: int, maxDisk: int) -> None:  # noqa: N803
        super().__init__(config, maxCores, maxMemory, maxDisk)
        self.toil_arguments = (config, maxCores, maxMemory, maxDisk)


class ContextPlugin(SingleMachineBatchSystem):
    def issue(self, job: Any) -> None:
        super().issue(job)


def test_a_plugin_with_toils_constructor_is_built_toils_way(context: BatchContext) -> None:
    BATCH_SYSTEMS["toil-style"] = lambda: ToilStylePlugin
    try:
        b = new_batch_system(batch_system_class("toil-style"), context)
    finally:
        BATCH_SYSTEMS.pop("toil-style")
    try:
        assert b.toil_arguments == (context.config, 1, 2**30, 2**30)
        assert b.context is context and b.max_cores == 1.0 and b.name == "single_machine"
    finally:
        b.shutdown()
    plain = new_batch_system(ContextPlugin, context)
    assert plain.context is context
    plain.shutdown()


def test_toils_arguments_outside_a_workflow_are_refused_in_one_line(context: BatchContext) -> None:
    with pytest.raises(ToilUserError, match="can only be built by a running workflow"):
        ToilStylePlugin(context.config, 1, 1, 1)


def test_capabilities_are_declared_by_the_class(context: BatchContext) -> None:
    assert (LocalBatchSystem.needs_shared_job_store, LocalBatchSystem.supports_packing) == (False, False)
    for cls in (SlurmBatchSystem, GridEngineBatchSystem, ToilSlurm):
        assert cls.needs_shared_job_store and cls.supports_packing
    assert issubclass(ToilSlurm, SlurmBatchSystem) and ToilSlurm.PartitionSet is SlurmBatchSystem.PartitionSet

    class Minimal(BatchSystem):
        def start(self) -> None: ...
        def check_resources(self, resources: Any, label: str) -> None: ...
        def issue(self, job: Any) -> None: ...
        def wait(self, timeout: float) -> list[Any]:
            return []

        def kill(self, tokens: list[str]) -> None: ...
        def shutdown(self) -> None: ...
        def issued_tokens(self) -> list[str]:
            return ["a"]

    m = Minimal(context)
    assert m.nodes() == [] and m.queued_tokens() == [] and m.running_tokens() == ["a"]


def test_hpc_batch_systems_need_a_job_store_with_a_local_area(context: BatchContext) -> None:
    class Remote(FileJobStore):
        def local_area(self, name: str) -> str | None:
            return None

    js = Remote(context.job_store.path)  # type: ignore[attr-defined]
    with pytest.raises(ToilUserError, match="needs a file: job store on a file system its nodes share"):
        SlurmBatchSystem(BatchContext(context.config, js, context.workflow_dir))
