"""The Slurm batch system: sbatch, then squeue + sacct (or scontrol when accounting is off), scancel."""

from __future__ import annotations

import logging
import math
import os
import re

from toil.runtime.batch.base import BatchContext, BatchJob, NodeInfo
from toil.runtime.batch.remote.hpc import HPCBatchSystem, JobState, extra_args, run_command
from toil.runtime.batch.remote.slurm_cluster import PartitionInfo, PartitionSet, format_slurm_time

log = logging.getLogger("toil.batch.slurm")

# Slurm's job states, as this project reads them
PENDING = {
    "PENDING",
    "CONFIGURING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESV_DEL_HOLD",
    "SUSPENDED",
    "STOPPED",
    "RESIZING",
    "SIGNALING",
    "STAGE_OUT",
}
RUNNING = {"RUNNING", "COMPLETING"}
LOST = {"NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def slurm_state(batch_id: str, state: str, exit_code: str, reason: str = "") -> JobState:
    """A JobState from Slurm's words: state (``CANCELLED by 0`` too) and ``ExitCode`` ``N:SIG``."""
    state = state.split()[0] if state else ""
    code: int | None = None
    m = re.match(r"^(\d+):(\d+)$", exit_code or "")
    if m:
        code = int(m.group(1)) or (128 + int(m.group(2)) if int(m.group(2)) else 0)
    if state in PENDING:
        return JobState(batch_id, "pending")
    if state in RUNNING:
        return JobState(batch_id, "running")
    if state == "COMPLETED":
        return JobState(batch_id, "done", code or 0)
    if state == "OUT_OF_MEMORY":
        return JobState(batch_id, "oom", code, "Slurm killed the job for exceeding its memory (OUT_OF_MEMORY)")
    if state == "TIMEOUT":
        return JobState(batch_id, "failed", code or 1, "Slurm killed the job at its time limit (TIMEOUT)")
    if state == "CANCELLED":
        return JobState(batch_id, "cancelled", code, "the Slurm job was cancelled")
    if state in LOST:
        return JobState(batch_id, "lost", code, f"the Slurm job was lost ({state})")
    return JobState(
        batch_id,
        "failed",
        code if code else 1,
        f"the Slurm job ended {state or 'unknown'}" + (f" ({reason})" if reason else ""),
    )


class SlurmBatchSystem(HPCBatchSystem):
    name = "slurm"
    # Toil's nested classes, which user code (cactus) reads to learn the cluster's partitions
    PartitionInfo = PartitionInfo
    PartitionSet = PartitionSet
    command = "sbatch"

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        self.accounting: bool | None = None  # is sacct usable? found out at the first poll

    # ------------------------------------------------------------------ submission
    def submit_argv(self, job: BatchJob, command: list[str], log_path: str) -> list[str]:
        c, r = self.config, job.resources
        argv = [
            "sbatch",
            "--parsable",
            "--job-name",
            self.label,
            "--output",
            log_path,
            "--open-mode=append",
            "--nodes=1",
            "--ntasks=1",
            f"--cpus-per-task={self.cores(r)}",
        ]
        if c.slurm_allocate_mem:
            argv.append(f"--mem={self.memory_mib(r)}M")
        gpus = r.accelerator_count
        partition = c.slurm_partition
        if gpus:
            argv.append(f"--gres=gpu:{gpus}")
            partition = c.slurm_gpu_partition or partition
        elif partition is None and self.cores(r) > 1:
            partition = c.slurm_pe  # Toil's partition for multi-core jobs
        if r.preemptible and c.slurm_preemptible_partition:
            partition = c.slurm_preemptible_partition
        if partition:
            argv.append(f"--partition={partition}")
        qos = c.slurm_preemptible_qos if r.preemptible else None
        qos = qos or (c.slurm_gpu_qos if gpus else None) or c.slurm_qos
        if qos:
            argv.append(f"--qos={qos}")
        walltime = c.slurm_time
        if walltime:
            argv.append(f"--time={format_slurm_time(int(walltime))}")
        argv += extra_args(c.slurm_args, "TOIL_SLURM_ARGS")
        argv += ["--wrap", "exec " + " ".join(_quote(a) for a in command)]
        return argv

    def parse_submission(self, stdout: str) -> str | None:
        first = stdout.strip().split(";")[0] if stdout.strip() else ""
        return first if first.isdigit() else None

    @classmethod
    def cancel_argv(cls, ids: list[str]) -> list[str]:
        return ["scancel", *ids]

    def cancel_workflow(self, ids: list[str]) -> None:
        run_command(["scancel", f"--name={self.label}"])  # one call, however many jobs
        super().cancel_workflow(ids)

    def refine_from_log(self, st: JobState, log_path: str) -> JobState:
        """Without cgroups Slurm ends a job over its --mem FAILED or CANCELLED; slurmstepd's log line says why."""
        if st.state not in ("failed", "cancelled"):
            return st
        try:
            with open(log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(log_path) - 65536))
                tail = f.read()
        except OSError:
            return st
        if b"Exceeded job memory limit" in tail or b"oom-kill" in tail:
            return JobState(st.batch_id, "oom", st.exit_code, "Slurm killed the job for exceeding its memory")
        return st

    def nodes(self) -> list[NodeInfo]:
        """Slurm's nodes, from one ``scontrol show node``; [] if it does not answer."""
        p = run_command(["scontrol", "show", "node", "-o"])
        if p.returncode != 0:
            return []
        return slurm_nodes(p.stdout, self.config.slurm_preemptible_partition)

    # ------------------------------------------------------------------ polling
    def query(self) -> dict[str, JobState]:
        states = self._squeue()
        watched = self.watched_ids()
        finished = [i for i in watched if i not in states]
        if finished or not watched:
            states.update(self._finished_states())
        return states

    def _squeue(self) -> dict[str, JobState]:
        p = run_command(["squeue", "-h", f"--name={self.label}", "-o", "%i|%T|%r|%N"])
        out: dict[str, JobState] = {}
        running_on: dict[str, str] = {}
        for line in p.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 2:
                out[parts[0]] = slurm_state(parts[0], parts[1], "", parts[2] if len(parts) > 2 else "")
                if out[parts[0]].state == "running" and len(parts) > 3 and parts[3]:
                    running_on[parts[0]] = parts[3]
        out.update(self._evacuate(running_on))
        return out

    def _evacuate(self, running_on: dict[str, str]) -> dict[str, JobState]:
        """Jobs running on nodes under a spot interruption notice: cancelled and reported lost, to run elsewhere
        now rather than die with the node (a lost job spends no retry)."""
        if not running_on:
            return {}
        p = run_command(["sinfo", "-h", "-N", "-t", "drain,draining,drained", "-o", "%N|%E"])
        noticed = {
            node
            for node, _, reason in (line.partition("|") for line in p.stdout.splitlines())
            if reason.startswith(SPOT_NOTICE_REASON)
        }
        lost = {i: node for i, node in running_on.items() if node in noticed}
        if lost:
            run_command(["scancel", *lost])
        return {
            i: JobState(i, "lost", None, f"its node {node} is being reclaimed (spot interruption notice)")
            for i, node in lost.items()
        }

    def drain_node(self, name: str) -> bool:
        """scontrol: no new jobs on the node (an autoscaler is about to remove it)."""
        return (
            run_command(["scontrol", "update", f"NodeName={name}", "State=DRAIN", "Reason=toil-autoscaler"]).returncode
            == 0
        )

    def undrain_node(self, name: str) -> bool:
        return run_command(["scontrol", "update", f"NodeName={name}", "State=RESUME"]).returncode == 0

    def _finished_states(self) -> dict[str, JobState]:
        if self.accounting is not False:
            states = self._sacct()
            if states is not None:
                self.accounting = True
                return states
            self.accounting = False
            log.info("Slurm accounting (sacct) is off: reading job states with scontrol")
        return self._scontrol()

    def _sacct(self) -> dict[str, JobState] | None:
        start = _slurm_time(self.started - 60)
        p = run_command(
            ["sacct", "-n", "-P", "-X", f"--name={self.label}", "-S", start, "-o", "JobIDRaw,State,ExitCode"]
        )
        if p.returncode != 0:
            return None
        out = {}
        for line in p.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 3:
                out[parts[0]] = slurm_state(*parts)
        return out

    def _scontrol(self) -> dict[str, JobState]:
        """Without accounting: every job slurmctld still remembers (MinJobAge), in one call."""
        p = run_command(["scontrol", "show", "job", "-o"])
        out = {}
        for line in p.stdout.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if fields.get("JobName") == self.label and "JobId" in fields:
                out[fields["JobId"]] = slurm_state(
                    fields["JobId"], fields.get("JobState", ""), fields.get("ExitCode", ""), fields.get("Reason", "")
                )
        return out


# The drain reason a node agent gives a node under a spot interruption notice (one word: scontrol -o splits on
# spaces), and the node feature that marks spot nodes; a node's other feature is its instance type.
SPOT_NOTICE_REASON = "toil-spot-notice"
PREEMPTIBLE_FEATURE = "preemptible"


def slurm_nodes(text: str, preemptible_partition: str | None = None) -> list[NodeInfo]:
    """Nodes from ``scontrol show node -o`` (sizes in MB); those in the preemptible partition or with the
    preemptible feature are preemptible; a node drained for a spot interruption notice is under notice."""
    out = []
    for line in text.splitlines():
        f = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "NodeName" not in f:
            continue
        state = f.get("State", "")
        features = [x for x in f.get("AvailableFeatures", "").split(",") if x and x != "(null)"]
        partitions = f.get("Partitions", "").split(",")
        preemptible = (
            PREEMPTIBLE_FEATURE in features or bool(preemptible_partition) and preemptible_partition in partitions
        )
        mib = 2**20
        out.append(
            NodeInfo(
                f["NodeName"],
                f.get("NodeAddr", ""),
                cores=_number(f.get("CPUTot")),
                memory=int(_number(f.get("RealMemory")) * mib),
                disk=int(_number(f.get("TmpDisk")) * mib),
                preemptible=preemptible,
                node_type=next((x for x in features if x != PREEMPTIBLE_FEATURE), ""),
                used_cores=_number(f.get("CPUAlloc")),
                used_memory=int(_number(f.get("AllocMem")) * mib),
                cpu_busy=_number(f["CPULoad"]) if _is_number(f.get("CPULoad")) else None,  # the load average
                memory_busy=int((_number(f.get("RealMemory")) - _number(f["FreeMem"])) * mib)
                if _is_number(f.get("FreeMem"))
                else None,
                state=_node_state(state, f.get("Reason", "")),
            )
        )
    return out


def _node_state(state: str, reason: str) -> str:
    """up | draining | notice | down, from a node's State and the first word of its Reason."""
    if any(w in state for w in ("DOWN", "FAIL", "*")):
        return "down"
    if "DRAIN" in state:
        return "notice" if reason.startswith(SPOT_NOTICE_REASON) else "draining"
    return "up"


def _is_number(text: str | None) -> bool:
    """Whether scontrol gave a figure (it says N/A where the node does not report one)."""
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _slurm_time(t: float) -> str:
    import time as _time

    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.localtime(math.floor(t)))
