"""The resolved options of one workflow (Toil's ``Config``), as plain data."""

from __future__ import annotations

import argparse
import os
import re
import uuid
from typing import Any

from toil.options import common as opts
from toil.runtime.jobstores.locator import normalize_locator

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN ...)."""
    return bool(_SECRET_NAME.search(name))


class Config:
    """Every workflow option as an attribute, plus the workflow's identity.

    Attribute names are Toil's (``maxCores``, ``defaultMemory``, ``jobStore`` ...).
    The object is plain data: ``to_json``/``from_json`` round-trip it, so a job
    store can keep it and workers on other machines can read it.
    """

    # Every option of the table in options/common.py, with its type (tests/unit/runtime/test_config.py checks
    # that this list and the table agree); the values and defaults come from the table alone.
    logLevel: str
    logFile: str | None
    logRotating: bool
    workDir: str | None
    coordination_dir: str | None
    noStdOutErr: bool
    stats: bool
    clean: str
    cleanWorkDir: str
    clusterStats: str | None
    restart: bool
    batchSystem: str
    disableAutoDeployment: bool
    max_jobs: int
    max_local_jobs: int | None
    slurm_partition: str | None
    slurm_gpu_partition: str | None
    slurm_preemptible_partition: str | None
    slurm_qos: str | None
    slurm_preemptible_qos: str | None
    slurm_gpu_qos: str | None
    slurm_pe: str | None
    slurm_time: int | None
    slurm_args: str | None
    slurm_allocate_mem: bool
    kubernetes_host_path: str | None
    kubernetes_owner: str | None
    kubernetes_service_account: str | None
    kubernetes_pod_timeout: float
    kubernetes_privileged: bool
    mesos_endpoint: str | None
    mesos_framework_id: str | None
    mesos_role: str | None
    mesos_name: str
    packJobs: bool
    packSize: int
    packTinySeconds: float
    manualMemArgs: bool
    run_local_jobs_on_workers: bool
    coalesceStatusCalls: bool
    statePollingWait: int | None
    state_polling_timeout: int
    batch_logs_dir: str | None
    memory_is_product: bool
    maxJobsPerWorker: int
    scale: float
    symlinkImports: bool
    moveOutputs: bool
    caching: bool | None
    symlink_job_store_reads: bool
    provisioner: str | None
    nodeTypes: list[str]
    maxNodes: list[int]
    minNodes: list[int]
    targetTime: int
    betaInertia: float
    scaleInterval: int
    preemptibleCompensation: float
    nodeStorage: int
    nodeStorageOverrides: list[str]
    metrics: bool
    metricsPort: int
    assume_zero_overhead: bool
    maxServiceJobs: int
    maxPreemptibleServiceJobs: int
    deadlockWait: int
    deadlockCheckInterval: int
    defaultMemory: int
    defaultCores: float
    defaultDisk: int
    defaultAccelerators: list[dict[str, Any]]
    defaultPreemptible: bool
    maxCores: float
    maxMemory: int
    maxDisk: int
    retryCount: int
    retry_backoff_seconds: float
    retry_backoff_factor: float
    enableUnlimitedPreemptibleRetries: bool
    doubleMem: bool
    maxJobDuration: int
    rescueJobsFrequency: int
    job_store_timeout: float
    maxLogFileSize: int
    writeLogs: str | None
    writeLogsGzip: str | None
    writeLogsFromAllJobs: bool
    write_messages: str | None
    realTimeLogging: bool
    disableChaining: bool
    disableJobStoreChecksumVerification: bool
    sseKey: str | None
    environment: dict[str, str | None]
    servicePollingInterval: float
    forceDockerAppliance: bool
    statusWait: int
    disableProgress: bool
    debugWorker: bool
    disableWorkerOutputCapture: bool
    badWorker: float
    badWorkerFailInterval: float

    # The workflow's identity, set by the leader.
    jobStore: str | None
    workflowID: str | None
    workflowAttemptNumber: int
    config: str | None

    def __init__(self) -> None:
        for dest, value in opts.defaults().items():
            setattr(self, dest, value)
        self.jobStore: str | None = None
        self.workflowID: str | None = None
        self.workflowAttemptNumber: int = 0
        self.config: str | None = None

    def setOptions(self, options: argparse.Namespace) -> None:
        """Take option values from a parsed namespace (environment and config file applied)."""
        options = opts.resolve(options)
        for dest in opts.defaults():
            setattr(self, dest, getattr(options, dest))
        self.config = getattr(options, "config", None)
        locator = getattr(options, "jobStore", None)
        self.jobStore = normalize_locator(locator) if locator else None
        if self.logLevel and str(self.logLevel).upper() == "OFF":
            self.logLevel = "CRITICAL"
        # --setEnv NAME (no value) means the leader's own value, taken now.
        self.environment = {
            name: (os.environ.get(name, "") if value is None else value)
            for name, value in dict(self.environment or {}).items()
        }
        if self.stats and self.clean != "never":
            # Toil keeps the job store for 'toil stats' whenever --stats is on.
            self.clean = "never"

    # Toil spells a few of these two ways; keep the old spelling readable.
    @property
    def defaultPreemptable(self) -> bool:
        return bool(self.defaultPreemptible)

    @property
    def workflow_id(self) -> str | None:
        return self.workflowID

    def assign_workflow_id(self) -> str:
        if not self.workflowID:
            self.workflowID = str(uuid.uuid4())
        return self.workflowID

    def to_json(self) -> dict[str, Any]:
        """The options as the job store keeps them: secret-looking --setEnv values are never written.

        Such a variable is kept by name only (null): a worker takes it from the
        environment it inherits (forked from the leader, or submitted with it).
        """
        out = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        out["environment"] = {
            name: None if is_secret_name(name) else value for name, value in dict(self.environment or {}).items()
        }
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Config":
        cfg = cls()
        for k, v in data.items():
            setattr(cfg, k, v)
        return cfg

    def work_dir(self) -> str:
        """The directory that holds this machine's per-workflow temporary directory."""
        return self.workDir or os.environ.get("TMPDIR") or "/tmp"

    def __repr__(self) -> str:
        return f"Config(jobStore={self.jobStore!r}, workflowID={self.workflowID!r})"
