"""Slurm and Grid Engine: how resources become submit arguments, and how scheduler states are read."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from toil.compiler.ir import Resources, accelerators_key
from toil.runtime.batch.base import BatchJob
from toil.runtime.batch.gridengine import GridEngineBatchSystem, accounting_state
from toil.runtime.batch.slurm import SlurmBatchSystem, slurm_state

GiB = 2 ** 30


def system(cls, **config):
    """A batch system object without a job store or daemons: enough to build submit lines."""
    s = cls.__new__(cls)
    s.config = SimpleNamespace(**config)
    s.job_name = "toil_abc"
    return s


def job(cores=1.0, memory=GiB, gpus=0, preemptible=False):
    accel = accelerators_key([{"kind": "gpu", "count": gpus}]) if gpus else ()
    return BatchJob("n.0", "n", "'j' n", Resources(cores, memory, GiB, accel, preemptible), {})


def test_slurm_maps_cores_memory_gpus_partitions_and_time(monkeypatch):
    monkeypatch.delenv("TOIL_SLURM_ARGS", raising=False)
    s = system(SlurmBatchSystem, slurm_partition="main", slurm_gpu_partition="gpu", slurm_preemptible_partition="spot",
               slurm_qos="normal", slurm_preemptible_qos="scavenger", slurm_time=3600, slurm_args="--account=lab",
               slurm_allocate_mem=True)
    argv = s.submit_argv(job(cores=1.5, memory=3 * GiB), ["python", "-m", "w", "a b"], "/l")
    assert "--cpus-per-task=2" in argv and "--mem=3072M" in argv and "--partition=main" in argv
    assert "--qos=normal" in argv and "--time=1:00:00" in argv and "--account=lab" in argv
    assert argv[-2:] == ["--wrap", "exec python -m w 'a b'"] and "--job-name" in argv
    assert "--partition=gpu" in s.submit_argv(job(gpus=2), ["x"], "/l")
    assert "--gres=gpu:2" in s.submit_argv(job(gpus=2), ["x"], "/l")
    spot = s.submit_argv(job(preemptible=True), ["x"], "/l")
    assert "--partition=spot" in spot and "--qos=scavenger" in spot
    s.config.slurm_allocate_mem = False
    assert not any(a.startswith("--mem") for a in s.submit_argv(job(), ["x"], "/l"))


def test_slurm_time_forms_gpu_qos_and_the_multicore_partition(monkeypatch):
    from toil.runtime.batch.slurm_cluster import format_slurm_time, parse_slurm_time
    assert [parse_slurm_time(t) for t in ("30", "5:30", "1:02:03", "2-3", "2-3:04", "1-0:0:1")] == \
        [1800, 330, 3723, 2 * 86400 + 3 * 3600, 2 * 86400 + 3 * 3600 + 240, 86401]
    assert format_slurm_time(86401) == "24:00:01"
    for bad in ("", "a", "1:2:3:4", "-1"):
        with pytest.raises(ValueError):
            parse_slurm_time(bad)
    monkeypatch.delenv("TOIL_SLURM_ARGS", raising=False)
    s = system(SlurmBatchSystem, slurm_pe="smp", slurm_gpu_qos="gpuq", slurm_qos="normal")
    assert "--partition=smp" in s.submit_argv(job(cores=2), ["x"], "/l")
    assert not any(a.startswith("--partition") for a in s.submit_argv(job(cores=1), ["x"], "/l"))
    assert "--qos=gpuq" in s.submit_argv(job(gpus=1), ["x"], "/l")
    assert "--qos=normal" in s.submit_argv(job(), ["x"], "/l")


def test_slurm_args_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOIL_SLURM_ARGS", "--nice=5 --comment='a b'")
    argv = system(SlurmBatchSystem).submit_argv(job(), ["x"], "/l")
    assert "--nice=5" in argv and "--comment=a b" in argv


@pytest.mark.parametrize("state,code,expected,exit_code", [
    ("PENDING", "", "pending", None), ("RUNNING", "", "running", None), ("COMPLETED", "0:0", "done", 0),
    ("FAILED", "3:0", "failed", 3), ("OUT_OF_MEMORY", "0:9", "oom", 137), ("CANCELLED by 0", "0:15", "cancelled", 143),
    ("NODE_FAIL", "0:0", "lost", 0), ("PREEMPTED", "0:0", "lost", 0), ("TIMEOUT", "0:0", "failed", 1),
])
def test_slurm_states(state, code, expected, exit_code):
    st = slurm_state("7", state, code)
    assert (st.state, st.exit_code) == (expected, exit_code)


def test_grid_engine_maps_slots_and_memory_per_slot(monkeypatch):
    monkeypatch.delenv("TOIL_GRIDENGINE_ARGS", raising=False)
    monkeypatch.setenv("TOIL_GRIDENGINE_PE", "shm")
    s = system(GridEngineBatchSystem, manualMemArgs=False, memory_is_product=False)
    argv = s.submit_argv(job(cores=4, memory=8 * GiB), ["python", "a b"], "/l")
    assert argv[argv.index("-pe") + 1:argv.index("-pe") + 3] == ["shm", "4"]
    assert "h_vmem=2048M" in argv and argv[-2:] == ["python", "'a b'"] and "-w" in argv
    assert "h_vmem=1024M" in s.submit_argv(job(memory=100 * 2 ** 20), ["x"], "/l"), "the start-up floor"
    s.config.memory_is_product = True
    assert "h_vmem=8192M" in s.submit_argv(job(cores=4, memory=8 * GiB), ["x"], "/l")
    s.config.manualMemArgs = True
    monkeypatch.setenv("TOIL_GRIDENGINE_ARGS", "-l h_rt=600")
    argv = s.submit_argv(job(), ["x"], "/l")
    assert not any(a.startswith("h_vmem") for a in argv) and "h_rt=600" in argv and "-pe" not in argv


def test_grid_engine_accounting_lines():
    def line(failed, status, maxvmem="0"):
        f = [""] * 45
        f[4], f[5], f[11], f[12], f[42] = "toil_abc", "12", str(failed), str(status), maxvmem
        return f
    assert accounting_state(line(0, 0)).state == "done"
    assert (accounting_state(line(0, 3)).state, accounting_state(line(0, 3)).exit_code) == ("failed", 3)
    assert accounting_state(line(100, 137)).state == "failed"
    assert accounting_state(line(1, 0)).state == "lost"
    assert accounting_state(line(100, 137, str(GiB)), h_vmem_bytes=GiB).state == "oom"
