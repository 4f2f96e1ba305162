"""The Grid Engine batch system (Son of Grid Engine, UGE): qsub, then qstat + the accounting file, qdel."""

from __future__ import annotations

import getpass
import logging
import os
import shlex
from typing import Any

from toil.runtime.batch.base import BatchContext, BatchJob, NodeInfo
from toil.runtime.batch.remote.hpc import HPCBatchSystem, JobState, extra_args, run_command

log = logging.getLogger("toil.batch.gridengine")

# qacct/accounting fields (colon-separated), Grid Engine's accounting(5)
F_JOB_NAME, F_JOB_NUMBER, F_FAILED, F_EXIT_STATUS, F_MAXVMEM = 4, 5, 11, 12, 42


def accounting_path() -> str:
    root = os.environ.get("SGE_ROOT", "/var/lib/gridengine")
    return os.path.join(root, os.environ.get("SGE_CELL", "default"), "common", "accounting")


def accounting_state(fields: list[str], h_vmem_bytes: int | None = None) -> JobState:
    """A finished job's state from its accounting line."""
    batch_id, failed, status = fields[F_JOB_NUMBER], int(fields[F_FAILED] or 0), int(fields[F_EXIT_STATUS] or 0)
    maxvmem = float(fields[F_MAXVMEM]) if len(fields) > F_MAXVMEM and fields[F_MAXVMEM] else 0.0
    if h_vmem_bytes and maxvmem >= 0.95 * h_vmem_bytes and status != 0:
        return JobState(batch_id, "oom", status, "Grid Engine's memory limit (h_vmem) stopped the job")
    if failed and failed != 100:  # 100: the job script itself exited or was signalled
        return JobState(batch_id, "lost", None, f"Grid Engine could not run the job (failed {failed})")
    if status == 0 and not failed:
        return JobState(batch_id, "done", 0)
    return JobState(batch_id, "failed", status or 1, f"exit status {status}")


def qhost_nodes(text: str) -> list[NodeInfo]:
    """Hosts from ``qhost -q``: a host line (NCPU, MEMTOT, MEMUSE), then its queues (slots resv/used/total)."""
    hosts: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] in ("HOSTNAME", "global") or set(parts[0]) == {"-"}:
            continue
        if not line[0].isspace() and len(parts) >= 9:
            hosts.append(
                {
                    "name": parts[0],
                    "cores": _count(parts[2]),
                    "memory": _ge_bytes(parts[7]),
                    "used_memory": _ge_bytes(parts[8]),
                    "load": parts[6],
                    "used": 0,
                    "queues": [],
                }
            )
        elif line[0].isspace() and hosts and len(parts) >= 3 and parts[2].count("/") == 2:
            hosts[-1]["used"] += int(parts[2].split("/")[1])
            hosts[-1]["queues"].append(parts[3] if len(parts) > 3 else "")
    return [
        NodeInfo(
            h["name"],
            h["name"],
            cores=h["cores"],
            memory=h["memory"],
            used_cores=h["used"],
            used_memory=h["used_memory"],
            state=_ge_host_state(h["queues"]),
            cpu_busy=_ge_load(h["load"]),
            memory_busy=h["used_memory"],  # MEMUSE: measured on the host
        )
        for h in hosts
    ]


def _ge_load(text: str) -> float | None:
    """qhost's LOAD (the host's load average), None where it says '-'."""
    try:
        return float(text)
    except ValueError:
        return None


def _ge_host_state(queue_states: list[str]) -> str:
    """'down' when every queue on the host is unreachable (u) or in error (E); 'draining' when all are disabled."""
    if queue_states and all("u" in q or "E" in q for q in queue_states):
        return "down"
    if queue_states and all("d" in q for q in queue_states):
        return "draining"
    return "up"


def _count(text: str) -> float:
    return float(text) if text.replace(".", "", 1).isdigit() else 0.0


def _ge_bytes(text: str) -> int:
    """Grid Engine's sizes: '23.5G', '380.0M', '0.0' (K, M, G, T are powers of 1024)."""
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:].upper(), 1)
    number = text[:-1] if scale != 1 else text
    return int(_count(number) * scale)


class GridEngineBatchSystem(HPCBatchSystem):
    name = "grid_engine"
    command = "qsub"

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        self.user = getpass.getuser()
        self._acct_offset: int | None = None
        self._finished: dict[str, JobState] = {}

    # ------------------------------------------------------------------ submission
    def submit_argv(self, job: BatchJob, command: list[str], log_path: str) -> list[str]:
        r = job.resources
        slots = self.cores(r)
        argv = ["qsub", "-terse", "-V", "-b", "y", "-N", self.label, "-o", log_path, "-j", "y", "-w", "e"]
        if slots > 1:
            argv += ["-pe", os.environ.get("TOIL_GRIDENGINE_PE", "smp"), str(slots)]
        if not self.config.manualMemArgs:
            argv += ["-l", f"h_vmem={self.h_vmem_mib(r.memory, slots)}M"]
        argv += extra_args(None, "TOIL_GRIDENGINE_ARGS")
        # with -b y, qsub joins the arguments into one shell line: quote each
        argv += [shlex.quote(a) for a in command]
        return argv

    def h_vmem_mib(self, memory: int, slots: int) -> int:
        """h_vmem per slot, as Grid Engine counts it (--memoryIsProduct: per job), in MiB.

        h_vmem caps *virtual* memory (ulimit -v), which interpreters reserve far beyond what they
        use (Node.js, which CWL expressions run in, needs more than 512 MiB of it): never ask for less
        than TOIL_GRIDENGINE_MIN_VMEM (default 1Gi) per slot, or jobs die at start-up.
        """
        from toil.lib.conversions import human2bytes

        per_slot = memory if self.config.memory_is_product else -(-memory // slots)
        floor = human2bytes(os.environ.get("TOIL_GRIDENGINE_MIN_VMEM", "1Gi"))
        if self.config.memory_is_product:
            floor *= slots
        return max(1, -(-max(per_slot, floor) // 2**20))

    def parse_submission(self, stdout: str) -> str | None:
        first = stdout.strip().split(".")[0] if stdout.strip() else ""
        return first if first.isdigit() else None

    @classmethod
    def cancel_argv(cls, ids: list[str]) -> list[str]:
        return ["qdel", *ids]

    def nodes(self) -> list[NodeInfo]:
        """Grid Engine's hosts, from one ``qhost -q``; [] if it does not answer."""
        p = run_command(["qhost", "-q"])
        return qhost_nodes(p.stdout) if p.returncode == 0 else []

    # ------------------------------------------------------------------ polling
    def query(self) -> dict[str, JobState]:
        states = self._qstat()
        gone = [i for i in self.watched_ids() if i not in states]
        if gone:
            self._read_accounting()
            for batch_id in gone:
                if batch_id in self._finished:
                    states[batch_id] = self._finished.pop(batch_id)
        return states

    def _qstat(self) -> dict[str, JobState]:
        p = run_command(["qstat", "-u", self.user])
        out = {}
        for line in p.stdout.splitlines()[2:]:  # two header lines
            parts = line.split()
            if len(parts) >= 5 and parts[0].isdigit():
                state = parts[4]
                if "E" in state:
                    out[parts[0]] = JobState(parts[0], "failed", 1, f"Grid Engine put the job in error ({state})")
                elif "r" in state or "t" in state:
                    out[parts[0]] = JobState(parts[0], "running")
                else:
                    out[parts[0]] = JobState(parts[0], "pending")
        return out

    def _read_accounting(self) -> None:
        """New lines of the accounting file since the last poll: one read, however many jobs finished."""
        path = accounting_path()
        try:
            with open(path, "rb") as f:
                if self._acct_offset is None:
                    f.seek(0, os.SEEK_END)
                    self._acct_offset = max(0, f.tell() - 4 * 2**20)  # jobs of this run are near the end
                f.seek(self._acct_offset)
                data = f.read()
        except OSError:
            self._qacct_each()
            return
        end = data.rfind(b"\n") + 1
        self._acct_offset += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            fields = line.split(":")
            if len(fields) > F_EXIT_STATUS and fields[F_JOB_NAME] == self.label:
                sub = self.jobs.get(self.by_id.get(fields[F_JOB_NUMBER], ""))
                limit = sub.job.resources.memory if sub is not None else None
                self._finished[fields[F_JOB_NUMBER]] = accounting_state(fields, limit)

    def _qacct_each(self) -> None:
        """Where the accounting file is not readable: ask qacct about each job that left the queue."""
        for batch_id in self.watched_ids():
            p = run_command(["qacct", "-j", batch_id])
            if p.returncode != 0:
                continue
            info = dict(line.split(None, 1) for line in p.stdout.splitlines() if len(line.split(None, 1)) == 2)
            fields = [""] * (F_MAXVMEM + 1)
            fields[F_JOB_NAME], fields[F_JOB_NUMBER] = info.get("jobname", "").strip(), batch_id
            fields[F_FAILED] = info.get("failed", "0").split()[0]
            fields[F_EXIT_STATUS] = info.get("exit_status", "0").split()[0]
            self._finished[batch_id] = accounting_state(fields)
