"""The resolved options of one workflow (Toil's ``Config``), as plain data."""
from __future__ import annotations

import argparse
import os
import re
import uuid
from typing import Any

from toil.runtime import options as opts
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

    # The options the runtime reads (all others are set too, from the option table).
    jobStore: str | None
    workDir: str | None
    batchSystem: str
    restart: bool
    clean: str
    cleanWorkDir: str
    stats: bool
    logLevel: str
    logFile: str | None
    logRotating: bool
    retryCount: int
    retry_backoff_seconds: float
    retry_backoff_factor: float
    maxCores: float
    maxMemory: int
    maxDisk: int
    defaultMemory: int
    defaultCores: float
    defaultDisk: int
    defaultPreemptible: bool
    defaultAccelerators: list[Any]
    environment: dict[str, Any]
    disableChaining: bool
    maxJobsPerWorker: int
    servicePollingInterval: float
    deadlockWait: int
    realTimeLogging: bool
    writeLogs: str | None
    writeLogsGzip: str | None
    writeLogsFromAllJobs: bool
    maxLogFileSize: int
    doubleMem: bool
    badWorker: float
    badWorkerFailInterval: float

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
        self.environment = {name: (os.environ.get(name, "") if value is None else value)
                            for name, value in dict(self.environment or {}).items()}
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
        out["environment"] = {name: None if is_secret_name(name) else value
                              for name, value in dict(self.environment or {}).items()}
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
