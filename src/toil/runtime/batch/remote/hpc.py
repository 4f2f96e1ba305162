"""What HPC scheduler batch systems (Slurm, Grid Engine) add to the remote base: command lines.

Each engine job is a scheduler job running this Python's ``python -m toil.cli.worker_main JOBSTORE MESSAGE``
(or the pack runner), submitted with the leader's environment; its log is a file in the job store
(``areas/batch/``), which the scheduler writes, so the job store must be on a file system the nodes share.

A subclass says how to submit (``submit_argv``, ``parse_submission``), how to read the states of its jobs
(``query``), how to cancel (``cancel_argv``) and how to read the scheduler's verdicts (into ``JobState``).
"""

from __future__ import annotations

import abc
import math
import os
import shlex
import shutil
import subprocess
import sys

from toil.compiler.ir import Resources
from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchContext, BatchJob
from toil.runtime.batch.remote.base import (
    MISSING_POLLS,
    WORKER_MODULES,
    JobState,
    Launch,
    Pack,
    RemoteBatchSystem,
    SubmitRejected,
    Submitted,
    one_line,
)
from toil.runtime.config import Config

__all__ = [
    "COMMAND_TIMEOUT",
    "MISSING_POLLS",
    "HPCBatchSystem",
    "JobState",
    "Pack",
    "Submitted",
    "extra_args",
    "one_line",
    "run_command",
    "submit_environment",
]

COMMAND_TIMEOUT = 60.0


def run_command(
    argv: list[str], timeout: float = COMMAND_TIMEOUT, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a scheduler command; a clear error if it is not installed."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise ToilUserError(
            f"cannot run {argv[0]}: it is not installed on this machine (is this a cluster head node?)"
        ) from None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"{argv[0]} did not answer within {timeout:g} s")
    if check and p.returncode != 0:
        raise ToilUserError(f"{shlex.join(argv[:2])} failed: {one_line(p.stderr or p.stdout)}")
    return p


class HPCBatchSystem(RemoteBatchSystem):
    """A scheduler driven by its commands, sharing a file system (the job store's) with its nodes."""

    name = "hpc"
    command = ""  # the submit command, checked at start

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        area = self.job_store.local_area("batch")
        if area is None:
            raise ToilUserError(
                f"the {self.name} batch system needs a file: job store on a file system its "
                f"nodes share; {self.job_store.locator} is not one"
            )
        self.area = area

    # ------------------------------------------------------------------ the remote base's hooks
    def check_engine(self) -> None:
        if shutil.which(self.command) is None:
            raise ToilUserError(f"the {self.name} batch system needs '{self.command}', which is not on PATH")

    def log_target(self, name: str) -> str:
        return os.path.join(self.area, f"{name}.log")

    def submit(self, job: BatchJob, launch: Launch) -> str:
        log_path = launch.log or os.devnull
        if launch.log:
            # The scheduler appends to its output file, keeping the mode: made here, it is private whatever the umask.
            os.close(os.open(launch.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        p = run_command(
            self.submit_argv(job, self.worker_command(launch), log_path), env=submit_environment(self.config)
        )
        batch_id = self.parse_submission(p.stdout) if p.returncode == 0 else None
        if batch_id is None:
            raise SubmitRejected(one_line(p.stderr or p.stdout))
        return batch_id

    @staticmethod
    def worker_command(launch: Launch) -> list[str]:
        return [sys.executable, "-m", WORKER_MODULES[launch.kind], launch.job_store, launch.message]

    def cancel(self, ids: list[str]) -> None:
        run_command(self.cancel_argv(ids))

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        if ids:
            run_command(cls.cancel_argv(sorted(set(ids))))

    def refine(self, st: JobState, sub: Submitted) -> JobState:
        return self.refine_from_log(st, sub.log) if sub.log else st

    def refine_from_log(self, st: JobState, log_path: str) -> JobState:
        """A final state, corrected with what the scheduler wrote in the job's log (e.g. an OOM kill)."""
        return st

    # ------------------------------------------------------------------ resources
    @staticmethod
    def cores(resources: Resources) -> int:
        return max(1, math.ceil(resources.cores - 1e-9))

    @staticmethod
    def memory_mib(resources: Resources) -> int:
        """The memory to ask for, in MiB: the job's, but never less than a worker needs to start.

        The worker (a Python interpreter with the front end's libraries) takes about 60 MiB before the job
        does anything, and a scheduler that enforces memory counts it: a WDL task asking for 50 MiB would
        be killed before its command starts. TOIL_HPC_MIN_MEMORY (default 256Mi) sets the floor.
        """
        from toil.lib.conversions import human2bytes

        floor = human2bytes(os.environ.get("TOIL_HPC_MIN_MEMORY", "256Mi"))
        return max(1, math.ceil(max(resources.memory, floor) / 2**20))

    # ------------------------------------------------------------------ what each scheduler says
    @abc.abstractmethod
    def submit_argv(self, job: BatchJob, command: list[str], log_path: str) -> list[str]: ...

    @abc.abstractmethod
    def parse_submission(self, stdout: str) -> str | None:
        """The job id the submit command printed, or None."""

    @classmethod
    @abc.abstractmethod
    def cancel_argv(cls, ids: list[str]) -> list[str]: ...


def submit_environment(config: Config) -> dict[str, str]:
    """The environment jobs are submitted with (Slurm exports it, qsub -V passes it on): the leader's, plus the
    --setEnv values the job store does not keep (secrets), which a worker takes from what it inherits."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (config.environment or {}).items() if v is not None})
    return env


def extra_args(value: str | None, env: str) -> list[str]:
    """User arguments for the submit command: the option's value, else its environment variable (shell-split)."""
    value = value or os.environ.get(env, "")
    return shlex.split(value) if value else []
