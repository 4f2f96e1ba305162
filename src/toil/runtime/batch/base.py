"""The interface every batch system implements, and what one is built with (``cls(BatchContext(...))``)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toil.compiler.ir import Resources

if TYPE_CHECKING:
    from toil.runtime.config import Config
    from toil.runtime.jobstores.base import JobStore


@dataclass(frozen=True)
class BatchContext:
    """Everything a batch system is built with: ``cls(context)`` is the one constructor call."""

    config: Config
    job_store: JobStore
    workflow_dir: str  # this machine's directory for the workflow's temporary files
    workers_lock_path: str | None = None  # a file local job processes hold locked while they live
    leader_fds: tuple[int, ...] = ()  # the leader's descriptors (its lock) job processes must not inherit


@dataclass(frozen=True)
class ContainerSupport:
    """The container engines a batch system's workers have, where they are not this machine's."""

    engines: tuple[str, ...]  # in order of preference: "docker", "podman", "singularity"
    hint: str = ""  # what makes one available, when there is none


@dataclass(frozen=True)
class NodeInfo:
    """One machine a batch system runs jobs on, as the autoscaler sees it."""

    name: str
    address: str = ""
    cores: float = 0.0
    memory: int = 0  # bytes
    disk: int = 0  # bytes
    preemptible: bool = False
    used_cores: float = 0.0
    used_memory: int = 0  # bytes reserved by running jobs
    running_jobs: int | None = None  # None where the engine does not say
    state: str = "up"  # up | draining | notice (a spot interruption notice: it goes soon) | down
    node_type: str = ""  # the provisioner's node type (an instance type), "" where there is none
    cpu_busy: float | None = None  # cores busy as measured on the node (the dashboard), None where not measured
    memory_busy: int | None = None  # bytes in use as measured on the node, None where not measured

    @property
    def busy(self) -> bool:
        return self.used_cores > 0 or bool(self.running_jobs)


@dataclass
class BatchJob:
    """One job handed to a batch system: what it needs and the message its worker runs."""

    token: str
    node_id: str
    label: str
    resources: Resources
    message: dict[str, Any]
    service: bool = False
    name: str = ""  # the job's name (what it runs), e.g. to learn how long such jobs take


@dataclass
class Completion:
    """A job that ended, however it ended."""

    token: str
    exit_code: int | None  # None when killed by a signal or lost
    signal: int | None = None
    wall: float = 0.0
    cpu: float = 0.0
    maxrss_kb: int = 0
    killed: bool = False  # killed on the leader's request
    lost: bool = False  # lost with its node (preempted): not the job's fault
    oom: bool = False  # killed for exceeding its memory
    permanent: bool = False  # can never succeed as asked (e.g. the scheduler rejected it): do not retry
    reason: str = ""
    log_path: str | None = None
    result: bytes | None = None  # the worker's result, when it came with the completion (else in the job store)
    log: bytes | None = None  # the job's output, when kept in memory (else at log_path, or log_message)
    batch_id: str | None = None  # the engine's id of the job (a Slurm job id)
    log_message: str | None = None  # the job store message holding the job's output (a packed job)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class BatchSystem(abc.ABC):
    """Runs jobs somewhere; the leader issues, waits for completions, and kills."""

    name = "abstract"
    # Its jobs run on other machines, which reach the workflow only through the job store: a temporary store on
    # this machine will not do.
    needs_shared_job_store = False
    # It runs many tiny jobs one after another in one allocation (--packJobs, --packSize, --packTinySeconds).
    supports_packing = False
    # Its workers are fresh processes, perhaps on machines without the user's code: the leader ships that code
    # through the job store (Toil's auto-deployment, runtime/usercode.py).
    auto_deploys = True
    # Its workers read this machine's files at the paths the leader reads them (a file system they share): the
    # CWL and WDL front ends pass a workflow's input files by path. When False, the leader imports them into the
    # job store and jobs read them by ID, as files other jobs made.
    shares_leader_files: bool = True

    @classmethod
    def worker_containers(cls, config: Config) -> ContainerSupport | None:
        """The container engines its workers have, if not this machine's (None: the front ends look here)."""
        return None

    def __init__(self, context: BatchContext) -> None:
        self.context = context
        self.config = context.config
        self.job_store = context.job_store
        self.workflow_dir = context.workflow_dir

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def check_resources(self, resources: Resources, label: str) -> None:
        """Raise InsufficientSystemResources if a job could never run here."""

    @abc.abstractmethod
    def issue(self, job: BatchJob) -> None: ...

    @abc.abstractmethod
    def wait(self, timeout: float) -> list[Completion]:
        """Completions that arrived, waiting up to timeout seconds for the first."""

    @abc.abstractmethod
    def kill(self, tokens: list[str]) -> None:
        """Kill jobs; each still produces a Completion with killed=True."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Kill everything still running and release resources."""

    @abc.abstractmethod
    def issued_tokens(self) -> list[str]: ...

    def after_commit(self) -> None:  # noqa: B027 (an optional hook)
        """Called after the leader made everything it received so far durable."""

    def running_tokens(self) -> list[str]:
        return self.issued_tokens()

    def queued_tokens(self) -> list[str]:
        """Issued jobs still waiting for a place to run (the leader's deadlock check; the autoscaler)."""
        return []

    def nodes(self) -> list[NodeInfo]:
        """The machines jobs run on, as cheaply as the engine tells (for the autoscaler); [] when unknown."""
        return []

    def drain_node(self, name: str) -> bool:
        """Send no new job to the node (an autoscaler about to remove it); False where the engine cannot."""
        return False

    def undrain_node(self, name: str) -> bool:
        """Send jobs to the node again; False where the engine cannot."""
        return False

    def batch_ids(self) -> dict[str, str]:
        """The engine's id of each running job (a process group, a Slurm job id), for 'toil kill --force'."""
        return {}

    @classmethod  # noqa: B027 (optional)
    def kill_batch_ids(cls, ids: list[str]) -> None:
        """Kill jobs by the ids ``batch_ids`` gave, without a running batch system (their leader is dead)."""

    def read_log(self, completion: Completion) -> bytes | None:
        if completion.log is not None:
            return completion.log
        if completion.log_path:
            try:
                with open(completion.log_path, "rb") as f:
                    return f.read()
            except OSError:
                return None
        return None

    def discard_log(self, completion: Completion) -> None:
        import os

        if completion.log_path:
            try:
                os.unlink(completion.log_path)
            except OSError:
                pass
