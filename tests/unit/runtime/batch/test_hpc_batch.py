"""Slurm and Grid Engine: how resources become submit arguments, and how scheduler states are read."""

from __future__ import annotations

import pytest

from toil.compiler.ir import Resources, accelerators_key
from toil.runtime.batch.base import BatchJob
from toil.runtime.batch.remote.base import Launch
from toil.runtime.batch.remote.gridengine import GridEngineBatchSystem, accounting_state, qhost_nodes
from toil.runtime.batch.remote.hpc import HPCBatchSystem
from toil.runtime.batch.remote.slurm import SlurmBatchSystem, slurm_nodes, slurm_state
from toil.runtime.config import Config

GiB = 2**30


def system(cls, **config):
    """A batch system object without a job store or daemons: enough to build submit lines."""
    s = cls.__new__(cls)
    s.config = Config()
    for name, value in config.items():
        assert hasattr(s.config, name), name  # an option the table has
        setattr(s.config, name, value)
    s.label = "toil_abc"
    return s


def job(cores=1.0, memory=GiB, gpus=0, preemptible=False):
    accel = accelerators_key([{"kind": "gpu", "count": gpus}]) if gpus else ()
    return BatchJob("n.0", "n", "'j' n", Resources(cores, memory, GiB, accel, preemptible), {})


def test_slurm_maps_cores_memory_gpus_partitions_and_time(monkeypatch):
    monkeypatch.delenv("TOIL_SLURM_ARGS", raising=False)
    s = system(
        SlurmBatchSystem,
        slurm_partition="main",
        slurm_gpu_partition="gpu",
        slurm_preemptible_partition="spot",
        slurm_qos="normal",
        slurm_preemptible_qos="scavenger",
        slurm_time=3600,
        slurm_args="--account=lab",
        slurm_allocate_mem=True,
    )
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
    from toil.runtime.batch.remote.slurm_cluster import format_slurm_time, parse_slurm_time

    assert [parse_slurm_time(t) for t in ("30", "5:30", "1:02:03", "2-3", "2-3:04", "1-0:0:1")] == [
        1800,
        330,
        3723,
        2 * 86400 + 3 * 3600,
        2 * 86400 + 3 * 3600 + 240,
        86401,
    ]
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


@pytest.mark.parametrize(
    "state,code,expected,exit_code",
    [
        ("PENDING", "", "pending", None),
        ("RUNNING", "", "running", None),
        ("COMPLETED", "0:0", "done", 0),
        ("FAILED", "3:0", "failed", 3),
        ("OUT_OF_MEMORY", "0:9", "oom", 137),
        ("CANCELLED by 0", "0:15", "cancelled", 143),
        ("NODE_FAIL", "0:0", "lost", 0),
        ("PREEMPTED", "0:0", "lost", 0),
        ("TIMEOUT", "0:0", "failed", 1),
    ],
)
def test_slurm_states(state, code, expected, exit_code):
    st = slurm_state("7", state, code)
    assert (st.state, st.exit_code) == (expected, exit_code)


def test_grid_engine_maps_slots_and_memory_per_slot(monkeypatch):
    monkeypatch.delenv("TOIL_GRIDENGINE_ARGS", raising=False)
    monkeypatch.setenv("TOIL_GRIDENGINE_PE", "shm")
    s = system(GridEngineBatchSystem, manualMemArgs=False, memory_is_product=False)
    argv = s.submit_argv(job(cores=4, memory=8 * GiB), ["python", "a b"], "/l")
    assert argv[argv.index("-pe") + 1 : argv.index("-pe") + 3] == ["shm", "4"]
    assert "h_vmem=2048M" in argv and argv[-2:] == ["python", "'a b'"] and "-w" in argv
    assert "h_vmem=1024M" in s.submit_argv(job(memory=100 * 2**20), ["x"], "/l"), "the start-up floor"
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


def test_the_worker_and_pack_command_lines():
    run = HPCBatchSystem.worker_command(Launch("job", "file:/js", "n.0.json", "/l"))
    assert run[1:] == ["-m", "toil.cli.worker_main", "file:/js", "n.0.json"]
    assert (
        HPCBatchSystem.worker_command(Launch("pack", "file:/js", "pack-1.json", None))[2]
        == "toil.runtime.batch.remote.packrun"
    )


SCONTROL_NODES = (
    "NodeName=node1 Arch=x86_64 CPUAlloc=1 CPUTot=2 NodeAddr=127.0.0.1 OS=Linux 6.1 #1 SMP RealMemory=4096 "
    "AllocMem=1024 State=MIXED TmpDisk=100 Partitions=debug,spot CPULoad=1.50 FreeMem=3072\n"
    "NodeName=node2 CPUAlloc=0 CPUTot=8 NodeAddr=10.0.0.2 RealMemory=8000 AllocMem=0 State=IDLE+DRAIN "
    "TmpDisk=0 Partitions=debug\n"
    "NodeName=node3 CPUAlloc=0 CPUTot=4 RealMemory=1000 State=DOWN* Partitions=debug CPULoad=N/A FreeMem=N/A\n"
)


def test_slurm_nodes_from_scontrol():
    n1, n2, n3 = slurm_nodes(SCONTROL_NODES, "spot")
    assert (n1.name, n1.address, n1.cores, n1.memory, n1.disk) == ("node1", "127.0.0.1", 2, 4 * GiB, 100 * 2**20)
    assert (n1.used_cores, n1.used_memory, n1.preemptible, n1.state, n1.busy) == (1, GiB, True, "up", True)
    assert (n2.preemptible, n2.state, n2.busy, n2.cores) == (False, "draining", False, 8)
    assert n3.state == "down" and n3.address == ""
    assert (n1.cpu_busy, n1.memory_busy) == (1.5, GiB)  # measured: the load average, RealMemory - FreeMem
    assert (n2.cpu_busy, n2.memory_busy, n3.cpu_busy, n3.memory_busy) == (None, None, None, None)
    assert not slurm_nodes(SCONTROL_NODES, None)[0].preemptible
    assert n1.node_type == ""  # no features


def test_slurm_cloud_nodes_carry_their_type_spot_feature_and_notice():
    """An autoscaled node: its instance type and 'preemptible' as features; drained by its node agent on a spot
    interruption notice (reason toil-spot-notice) it is under notice, drained for another reason draining."""
    text = (
        "NodeName=i-0a CPUTot=2 RealMemory=8192 State=IDLE+DRAIN AvailableFeatures=t2.large,preemptible "
        "Reason=toil-spot-notice:2026-12-07T04:00:00Z [root@2026-12-07T03:58:00]\n"
        "NodeName=i-0b CPUTot=4 RealMemory=16384 State=MIXED+DRAIN AvailableFeatures=m5.xlarge Reason=maintenance\n"
    )
    spot, other = slurm_nodes(text)
    assert (spot.node_type, spot.preemptible, spot.state) == ("t2.large", True, "notice")
    assert (other.node_type, other.preemptible, other.state) == ("m5.xlarge", False, "draining")


QHOST_Q = """HOSTNAME                ARCH         NCPU NSOC NCOR NTHR  LOAD  MEMTOT  MEMUSE  SWAPTO  SWAPUS
----------------------------------------------------------------------------------------------
global                  -               -    -    -    -     -       -       -       -       -
localhost               lx-amd64        2    1    2    2  0.34   23.5G  380.0M     0.0     0.0
   all.q                BIP   0/1/2
   big.q                BIP   0/1/4
gone                    -               -    -    -    -     -       -       -       -       -
   all.q                BIP   0/0/2         au
"""


def test_grid_engine_nodes_from_qhost():
    here, gone = qhost_nodes(QHOST_Q)
    assert (here.name, here.cores, here.memory, here.used_memory) == ("localhost", 2, int(23.5 * GiB), 380 * 2**20)
    assert (here.used_cores, here.state, here.busy) == (2, "up", True)
    assert (gone.name, gone.cores, gone.state, gone.busy) == ("gone", 0, "down", False)
    assert (here.cpu_busy, here.memory_busy, gone.cpu_busy) == (0.34, 380 * 2**20, None)
