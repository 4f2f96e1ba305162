"""The workflow options, with Toil's names, defaults and environment variables.

One table (``OPTIONS``) describes every option once. It builds the argparse
arguments (``add_options``), resolves values from the command line, the
environment and a YAML ``--config`` file (``resolve``), and writes a commented
config file (``write_config``). Precedence, as in Toil (configargparse):
command line > environment variable > config file > default.
"""

from __future__ import annotations

import argparse
import os
import reprlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from toil.lib.conversions import bytes2human, human2bytes, strtobool

SYS_MAX_SIZE = 9223372036854775807
CLEAN_CHOICES = ["always", "onError", "never", "onSuccess"]
LOG_LEVELS = ["Critical", "Error", "Warning", "Debug", "Info"]
LOG_LEVEL_CHOICES = LOG_LEVELS + [x.lower() for x in LOG_LEVELS] + [x.upper() for x in LOG_LEVELS] + ["OFF", "off"]


def _bool(value: str) -> bool:
    try:
        return strtobool(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _size(value: str) -> int:
    try:
        n = int(value) if str(value).isdigit() else human2bytes(value)  # exact for huge byte counts
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {value!r}")
    return n


def _positive_float(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if f <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value!r}")
    return f


def _nonneg_float(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not f >= 0 or f == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more, got {value!r}")
    return f


def _nonneg_int(value: str) -> int:
    try:
        i = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if i < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {value!r}")
    return i


def _positive_int(value: str) -> int:
    i = _nonneg_int(value)
    if i < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value!r}")
    return i


def _int_list(value: str) -> list[int]:
    try:
        return [int(x) for x in str(value).split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {value!r}") from None


def _str_list(value: str) -> list[str]:
    return [x for x in str(value).split(",") if x]


def _accelerators(value: str) -> list[dict[str, Any]]:
    from toil.compiler.python.requirements import parse_accelerator

    try:
        return [parse_accelerator(x) for x in str(value).split(",") if x]
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _env_pairs(value: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in str(value).split(","):
        if not item:
            continue
        name, sep, val = item.partition("=")
        if not name:
            raise argparse.ArgumentTypeError(f"--setEnv needs NAME=VALUE or NAME, got {value!r}")
        out[name] = val if sep else None
    return out


def _slurm_time(value: str) -> int:
    from toil.runtime.batch.remote.slurm_cluster import parse_slurm_time

    try:
        return parse_slurm_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Slurm time limit: {value!r} (minutes, H:M:S or D-H:M:S)") from None


def _abs_dir(value: str) -> str:
    path = os.path.abspath(os.path.expanduser(value))
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"the directory {path} does not exist")
    return path


@dataclass(frozen=True)
class Option:
    """One workflow option: its flags, where its value lands, and how it is parsed."""

    dest: str
    flags: tuple[str, ...]
    default: Any = None
    type: Callable[[str], Any] | None = None
    help: str = ""
    group: str = "core"
    env: str | None = None
    choices: Sequence[Any] | None = None
    # 'store' (default), 'store_true', 'store_const', 'optional_bool' (flag alone means True),
    # 'optional_path' (flag alone means the current directory), 'extend_dict'
    action: str = "store"
    const: Any = None
    metavar: str | None = None
    hidden: bool = False
    in_config: bool = True


GROUPS = {
    "logging": "Logging options",
    "core": "Toil core options",
    "restart": "Toil options for restarting an existing workflow",
    "batch": "Toil options for specifying the batch system",
    "storage": "Toil options for configuring storage",
    "autoscaling": "Toil options for autoscaling the cluster of worker nodes",
    "services": "Toil options for limiting the number of service jobs and detecting service deadlocks",
    "resources": "Toil options for cores/memory requirements",
    "jobs": "Toil options for rescuing/killing/restarting jobs",
    "logs": "Toil log management options",
    "misc": "Toil miscellaneous options",
    "debug": "Toil debug options",
}


def _o(dest: str, *flags: str, **kw: Any) -> Option:
    return Option(dest=dest, flags=flags, **kw)


# The table is kept one option to a line or two, as written (the formatter would give each argument a line).
# fmt: off
OPTIONS: list[Option] = [
    # -- logging
    *[_o("logLevel", f"--log{lvl}", action="store_const", const=lvl, group="logging", in_config=False,
         help=f"Turn on log level {lvl}.") for lvl in LOG_LEVELS],
    _o("logLevel", "--logOff", action="store_const", const="CRITICAL", group="logging", in_config=False,
       help="Same as --logCritical."),
    _o("logLevel", "--logLevel", default="INFO", choices=LOG_LEVEL_CHOICES, group="logging",
       help="Set the log level (Critical, Error, Warning, Info, Debug). Default: INFO."),
    _o("logFile", "--logFile", group="logging", metavar="PATH", help="File to log in, besides standard error."),
    _o("logRotating", "--rotatingLogging", action="store_true", default=False, group="logging",
       help="Rotate the log file so it does not grow without bound."),
    # -- core
    _o("workDir", "--workDir", type=_abs_dir, env="TOIL_WORKDIR", metavar="PATH",
       help="Directory for temporary files of jobs (default: the system temporary directory). "
            "Per-workflow files go in toil-<workflowID> inside it."),
    _o("coordination_dir", "--coordinationDir", type=_abs_dir, env="TOIL_COORDINATION_DIR", metavar="PATH",
       help="Directory for state and lock files of workers on this machine."),
    _o("noStdOutErr", "--noStdOutErr", action="store_true", default=False,
       help="Do not capture standard output and error of jobs."),
    _o("stats", "--stats", action="store_true", default=False,
       help="Record per-job timing and memory for 'toil stats'; the job store is kept regardless of --clean."),
    _o("clean", "--clean", default="onSuccess", choices=CLEAN_CHOICES,
       help="When to delete the job store at the end: always, onError, never, onSuccess (default)."),
    _o("cleanWorkDir", "--cleanWorkDir", default="always", choices=CLEAN_CHOICES,
       help="When to delete a job's temporary directory: always (default), onError, never, onSuccess."),
    _o("clusterStats", "--clusterStats", action="optional_path", metavar="OPT_PATH",
       help="Write JSON resource usage statistics of the cluster to a file."),
    # -- restart
    _o("restart", "--restart", action="store_true", default=False, group="restart",
       help="Resume the workflow stored in the job store; an error if there is none."),
    # -- batch system
    _o("batchSystem", "--batchSystem", default="single_machine", group="batch",
       help="The batch system to run jobs with. Default: single_machine."),
    _o("disableAutoDeployment", "--disableAutoDeployment", "--disableHotDeployment", action="optional_bool",
       default=False, group="batch", help="Assume the workflow's Python code is present on all workers."),
    _o("max_jobs", "--maxJobs", type=_nonneg_int, default=SYS_MAX_SIZE, group="batch",
       help="The most jobs to have submitted to the batch system at once (0: unlimited)."),
    _o("max_local_jobs", "--maxLocalJobs", type=_nonneg_int, group="batch",
       help="The most housekeeping jobs to run at once on the leader's machine."),
    _o("slurm_partition", "--slurmPartition", env="TOIL_SLURM_PARTITION", group="batch", metavar="PARTITION",
       help="Slurm partition for jobs (default: the cluster's default partition)."),
    _o("slurm_gpu_partition", "--slurmGPUPartition", env="TOIL_SLURM_GPU_PARTITION", group="batch",
       metavar="PARTITION", help="Slurm partition for jobs that ask for GPUs."),
    _o("slurm_preemptible_partition", "--slurmPreemptiblePartition", env="TOIL_SLURM_PREEMPTIBLE_PARTITION",
       group="batch", metavar="PARTITION", help="Slurm partition for preemptible jobs."),
    _o("slurm_qos", "--slurmQOS", env="TOIL_SLURM_QOS", group="batch", metavar="QOS",
       help="Slurm quality of service for jobs."),
    _o("slurm_preemptible_qos", "--slurmPreemptibleQOS", env="TOIL_SLURM_PREEMPTIBLE_QOS", group="batch",
       metavar="QOS", help="Slurm quality of service for preemptible jobs (e.g. a scavenger QOS)."),
    _o("slurm_gpu_qos", "--slurmGPUQOS", env="TOIL_SLURM_GPU_QOS", group="batch", metavar="QOS",
       help="Slurm quality of service for jobs that ask for GPUs."),
    _o("slurm_pe", "--slurmPE", env="TOIL_SLURM_PE", group="batch", metavar="PARTITION",
       help="Slurm partition for jobs that ask for more than one core (when --slurmPartition is not given)."),
    _o("slurm_time", "--slurmTime", type=_slurm_time, env="TOIL_SLURM_TIME", group="batch", metavar="TIME",
       help="Slurm time limit of each job, in Slurm's forms (minutes, H:M:S, D-H:M:S ...); kept in seconds."),
    _o("slurm_args", "--slurmArgs", env="TOIL_SLURM_ARGS", group="batch", metavar="ARGS",
       help="Extra sbatch arguments for every job, shell-quoted."),
    _o("slurm_allocate_mem", "--slurmAllocateMem", type=_bool, default=True, group="batch", metavar="BOOL",
       help="Ask Slurm for each job's memory (--mem). Default: True."),
    _o("kubernetes_host_path", "--kubernetesHostPath", env="TOIL_KUBERNETES_HOST_PATH", group="batch",
       metavar="PATH", help="Path on Kubernetes hosts mounted in every pod (at the same path) as the shared work "
            "directory; a file: job store under it is reachable from the pods."),
    _o("kubernetes_owner", "--kubernetesOwner", env="TOIL_KUBERNETES_OWNER", group="batch", metavar="NAME",
       help="Username to mark Kubernetes jobs with (default: this user's name)."),
    _o("kubernetes_service_account", "--kubernetesServiceAccount", env="TOIL_KUBERNETES_SERVICE_ACCOUNT",
       group="batch", metavar="NAME", help="Service account to run the workflow's pods as."),
    _o("kubernetes_pod_timeout", "--kubernetesPodTimeout", type=_nonneg_float, default=120.0,
       env="TOIL_KUBERNETES_POD_TIMEOUT", group="batch", metavar="SECONDS",
       help="Seconds a pod may wait to be scheduled or to start before its job fails. Default: 120."),
    _o("kubernetes_privileged", "--kubernetesPrivileged", type=_bool, default=False,
       env="TOIL_KUBERNETES_PRIVILEGED", group="batch", metavar="BOOL",
       help="Run the workflow's pods privileged (e.g. for FUSE). Default: False."),
    _o("mesos_endpoint", "--mesosEndpoint", "--mesosMaster", "--mesosMasterAddress", group="batch", metavar="HOST:PORT",
       help="The host and port of the Mesos master (default: this host's public address, port 5050)."),
    _o("mesos_framework_id", "--mesosFrameworkId", group="batch", metavar="ID",
       help="Use a specific Mesos framework ID (re-register as that framework)."),
    _o("mesos_role", "--mesosRole", group="batch", metavar="ROLE", help="Use a Mesos role."),
    _o("mesos_name", "--mesosName", default="toil", group="batch", metavar="NAME",
       help="The Mesos framework name to use. Default: toil."),
    _o("packJobs", "--packJobs", type=_bool, default=True, group="batch", metavar="BOOL",
       help="On cluster batch systems (slurm, grid_engine, kubernetes, mesos), run jobs known to be short (one of "
            "their name ran in under --packTinySeconds) many to an allocation, one after another, instead of one "
            "scheduler job each. Each keeps its own state, retries and log. Default: True."),
    _o("packSize", "--packSize", type=_positive_int, default=200, group="batch", metavar="INT",
       help="The most jobs packed into one allocation (a pod or scheduler job costs seconds, a packed tiny job "
            "tens of milliseconds). Default: 200."),
    _o("packTinySeconds", "--packTinySeconds", type=_positive_float, default=30.0, group="batch",
       metavar="SECONDS", help="Jobs whose name ran in at most this long are packed. Default: 30."),
    _o("manualMemArgs", "--manualMemArgs", action="store_true", default=False, group="batch",
       help="Do not add memory arguments to Grid Engine submissions; rely on TOIL_GRIDENGINE_ARGS."),
    _o("run_local_jobs_on_workers", "--runLocalJobsOnWorkers", "--runCwlInternalJobsOnWorkers",
       action="store_true", default=False, group="batch",
       help="Run small bookkeeping jobs on workers instead of the leader."),
    _o("coalesceStatusCalls", "--coalesceStatusCalls", action="store_true", default=True, group="batch",
       hidden=True, help="Deprecated: status calls are always batched."),
    _o("statePollingWait", "--statePollingWait", type=_nonneg_int, group="batch",
       help="Seconds between scheduler queries for job state (cluster batch systems)."),
    _o("state_polling_timeout", "--statePollingTimeout", type=_nonneg_int, default=1200, group="batch",
       help="Seconds to keep retrying a scheduler that does not answer."),
    _o("batch_logs_dir", "--batchLogsDir", env="TOIL_BATCH_LOGS_DIR", group="batch", metavar="PATH",
       help="Directory the batch system writes its own job logs to."),
    _o("memory_is_product", "--memoryIsProduct", action="store_true", default=False, group="batch",
       help="The batch system counts memory per core: divide requests by cores."),
    _o("maxJobsPerWorker", "--maxJobsPerWorker", type=_positive_int, default=1000, group="batch",
       help="single_machine: jobs one warm worker process runs, one at a time, before it is replaced "
            "(1 gives every job a fresh process). Default: 1000."),
    _o("scale", "--scale", type=_positive_float, default=1.0, group="batch",
       help="single_machine: a scale factor for the cores of each job (default 1)."),
    # -- storage
    _o("symlinkImports", "--symlinkImports", type=_bool, default=True, group="storage", metavar="BOOL",
       help="Symlink imported files into a file job store instead of copying them. Default: True."),
    _o("moveOutputs", "--moveOutputs", type=_bool, default=False, group="storage", metavar="BOOL",
       help="Move exported files out of a file job store instead of copying them. Default: False."),
    _o("caching", "--caching", type=_bool, group="storage", metavar="BOOL",
       help="Cache job store files on each worker."),
    _o("symlink_job_store_reads", "--symlinkJobStoreReads", type=_bool, default=True, group="storage",
       metavar="BOOL", help="Let jobs read files of a file job store through links. Default: True."),
    # -- autoscaling
    _o("provisioner", "--provisioner", "-p", choices=["aws", "gce", None], group="autoscaling",
       help="The provisioner for cluster autoscaling (default: none)."),
    _o("nodeTypes", "--nodeTypes", type=_str_list, default=[], group="autoscaling",
       help="Comma-separated node types, each slash-separated instance types with an optional :BID."),
    _o("maxNodes", "--maxNodes", type=_int_list, default=[10], group="autoscaling", metavar="INT[,INT...]",
       help="Maximum number of nodes of each type. Default: 10."),
    _o("minNodes", "--minNodes", type=_int_list, default=[0], group="autoscaling", metavar="INT[,INT...]",
       help="Minimum number of nodes of each type. Default: 0."),
    _o("targetTime", "--targetTime", type=_nonneg_int, default=1800, group="autoscaling",
       help="Seconds the autoscaler aims to finish queued jobs in. Default: 1800."),
    _o("betaInertia", "--betaInertia", type=float, default=0.1, group="autoscaling",
       help="Smoothing of the estimated number of nodes (0.0-0.9). Default: 0.1."),
    _o("scaleInterval", "--scaleInterval", type=_positive_int, default=60, group="autoscaling",
       help="Seconds between autoscaling decisions. Default: 60."),
    _o("preemptibleCompensation", "--preemptibleCompensation", "--preemptableCompensation", type=float,
       default=0.0, group="autoscaling",
       help="How far to replace missing preemptible nodes with non-preemptible ones (0.0-1.0)."),
    _o("nodeStorage", "--nodeStorage", type=_positive_int, default=50, group="autoscaling",
       help="Root volume size of worker nodes in GB. Default: 50."),
    _o("nodeStorageOverrides", "--nodeStorageOverrides", type=_str_list, default=[], group="autoscaling",
       help="Comma-separated NODETYPE:GB overrides of --nodeStorage."),
    _o("metrics", "--metrics", action="optional_bool", default=False, group="autoscaling",
       help="Serve a live dashboard of the workflow (CPU and RAM of each node, nodes by type and state, issued "
            "jobs by name, failed jobs, queue size) on http://127.0.0.1:PORT/ and the same series for Prometheus "
            "on http://127.0.0.1:PORT/metrics; 'toil status' shows the address."),
    _o("metricsPort", "--metricsPort", type=_nonneg_int, default=3000, env="TOIL_METRICS_PORT", group="autoscaling",
       metavar="PORT", help="The port of --metrics (a free one, with a warning, if it is taken; 0: any free port). "
                            "Default: 3000, the port 'toil ssh-cluster --grafana_port' forwards."),
    _o("assume_zero_overhead", "--assumeZeroOverhead", action="optional_bool", default=False,
       group="autoscaling", help="Assume jobs may use every byte of a node when autoscaling."),
    # -- services
    _o("maxServiceJobs", "--maxServiceJobs", type=_nonneg_int, default=SYS_MAX_SIZE, group="services",
       help="The most service jobs to run at once."),
    _o("maxPreemptibleServiceJobs", "--maxPreemptibleServiceJobs", type=_nonneg_int, default=SYS_MAX_SIZE,
       group="services", help="The most service jobs to run at once on preemptible nodes."),
    _o("deadlockWait", "--deadlockWait", type=_nonneg_int, default=60, group="services",
       help="Seconds to tolerate only service jobs running, with nothing able to use them. Default: 60."),
    _o("deadlockCheckInterval", "--deadlockCheckInterval", type=_nonneg_int, default=30, group="services",
       help="Seconds between deadlock checks. Default: 30."),
    # -- resources
    _o("defaultMemory", "--defaultMemory", type=_size, default=2 * 1024 ** 3, group="resources",
       metavar="INT", help=f"Memory of a job that does not say. Default: {bytes2human(2 * 1024 ** 3)}."),
    _o("defaultCores", "--defaultCores", type=_positive_float, default=1.0, group="resources", metavar="FLOAT",
       help="Cores of a job that does not say. Default: 1."),
    _o("defaultDisk", "--defaultDisk", type=_size, default=2 * 1024 ** 3, group="resources", metavar="INT",
       help=f"Disk of a job that does not say. Default: {bytes2human(2 * 1024 ** 3)}."),
    _o("defaultAccelerators", "--defaultAccelerators", type=_accelerators, default=[], group="resources",
       metavar="ACCELERATOR[,ACCELERATOR...]", help="Accelerators of a job that does not say. Default: none."),
    _o("defaultPreemptible", "--defaultPreemptible", "--defaultPreemptable", action="optional_bool",
       default=False, group="resources", help="Let jobs that do not say run on preemptible (spot) nodes."),
    _o("maxCores", "--maxCores", type=_positive_float, default=SYS_MAX_SIZE, group="resources", metavar="INT",
       help="The most cores to use at once (single_machine: at most the machine's)."),
    _o("maxMemory", "--maxMemory", type=_size, default=SYS_MAX_SIZE, group="resources", metavar="INT",
       help="The most memory to use at once (single_machine: at most the machine's)."),
    _o("maxDisk", "--maxDisk", type=_size, default=SYS_MAX_SIZE, group="resources", metavar="INT",
       help="The most disk to use at once (single_machine: at most the work directory's free space)."),
    # -- jobs
    _o("retryCount", "--retryCount", type=_nonneg_int, default=1, group="jobs",
       help="How many times to retry a failing job (1 means two tries). Default: 1."),
    _o("retry_backoff_seconds", "--retryBackoffSeconds", type=_nonneg_float, default=2.0, group="jobs",
       env="TOIL_RETRY_BACKOFF_SECONDS", help="Seconds to wait before the first retry of a failed job. Default: 2."),
    _o("retry_backoff_factor", "--retryBackoffFactor", type=_nonneg_float, default=3.0, group="jobs",
       help="How much longer to wait before each further retry. Default: 3."),
    _o("enableUnlimitedPreemptibleRetries", "--enableUnlimitedPreemptibleRetries",
       "--enableUnlimitedPreemptableRetries", action="optional_bool", default=False, group="jobs",
       help="Do not count jobs lost with a preempted node against --retryCount."),
    _o("doubleMem", "--doubleMem", action="optional_bool", default=False, group="jobs",
       help="Retry a job killed for exceeding its memory with twice the memory."),
    _o("maxJobDuration", "--maxJobDuration", type=_positive_int, default=SYS_MAX_SIZE, group="jobs",
       help="Seconds after which a running job is killed."),
    _o("rescueJobsFrequency", "--rescueJobsFrequency", type=_positive_int, default=60, group="jobs",
       help="Seconds between checks for jobs lost by the batch system."),
    _o("job_store_timeout", "--jobStoreTimeout", type=_positive_float, default=30.0, group="jobs",
       help="Seconds to wait for a job's update to reach the job store."),
    # -- logs
    _o("maxLogFileSize", "--maxLogFileSize", type=_size, default=100 * 1024 * 1024, group="logs",
       help="Keep at most this much of each job log (the tail)."),
    _o("writeLogs", "--writeLogs", action="optional_path", group="logs", metavar="OPT_PATH",
       help="Keep the log of every job (failed ones prefixed failed_) in a file in this directory, named after the "
            "job (default: the current directory)."),
    _o("writeLogsGzip", "--writeLogsGzip", action="optional_path", group="logs", metavar="OPT_PATH",
       help="Like --writeLogs, gzipped."),
    _o("writeLogsFromAllJobs", "--writeLogsFromAllJobs", action="optional_bool", default=False, group="logs",
       help="Kept for Toil's scripts: --writeLogs already keeps every job's log."),
    _o("write_messages", "--writeMessages", group="logs", metavar="PATH",
       help="File to write the leader's message bus to."),
    _o("realTimeLogging", "--realTimeLogging", action="optional_bool", default=False, group="logs",
       help="Send RealtimeLogger messages from jobs to the leader as they happen."),
    # -- misc
    _o("disableChaining", "--disableChaining", action="optional_bool", default=False, group="misc",
       help="Do not run a job's single successor in the same worker."),
    _o("disableJobStoreChecksumVerification", "--disableJobStoreChecksumVerification", action="optional_bool",
       default=False, group="misc", help="Skip checksum checks of job store transfers."),
    _o("sseKey", "--sseKey", group="misc", metavar="PATH",
       help="Key file for server-side encryption (aws: job store)."),
    _o("environment", "--setEnv", "-e", type=_env_pairs, action="extend_dict", default={}, group="misc",
       metavar="NAME=VALUE or NAME", help="Set an environment variable in jobs (NAME alone copies the leader's)."),
    _o("servicePollingInterval", "--servicePollingInterval", type=_positive_float, default=60.0, group="misc",
       help="Seconds between calls of a service's check(). Default: 60."),
    _o("forceDockerAppliance", "--forceDockerAppliance", action="optional_bool", default=False, group="misc",
       help="Skip checking the Docker appliance image."),
    _o("statusWait", "--statusWait", type=_positive_int, default=3600, group="misc",
       help="Seconds between reports of running jobs. Default: 3600."),
    _o("disableProgress", "--disableProgress", action="store_true", default=False, group="misc",
       help="Do not show the progress bar."),
    # -- debug
    _o("debugWorker", "--debugWorker", action="store_true", default=False, group="debug",
       help="Run jobs in the leader's process (no fork), for debugging."),
    _o("disableWorkerOutputCapture", "--disableWorkerOutputCapture", action="store_true", default=False,
       group="debug", help="Let jobs write to the leader's standard output and error."),
    _o("badWorker", "--badWorker", type=float, default=0.0, group="debug",
       help="For testing: the fraction of jobs to kill with SIGKILL."),
    _o("badWorkerFailInterval", "--badWorkerFailInterval", type=float, default=0.01, group="debug",
       help="For testing: kill bad workers within this many seconds of starting."),
]
# fmt: on

BY_DEST: dict[str, Option] = {}
for _opt in OPTIONS:
    # store_const flags share a dest with the option that carries the default
    if _opt.dest not in BY_DEST or _opt.action != "store_const":
        BY_DEST[_opt.dest] = _opt


def defaults() -> dict[str, Any]:
    """Every option's built-in default, keyed by dest."""
    out: dict[str, Any] = {}
    for opt in OPTIONS:
        if opt.action != "store_const":
            out[opt.dest] = _copy_default(opt.default)
    out.setdefault("logLevel", "INFO")
    return out


def _copy_default(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return type(value)(value)
    return value


# An action's ``values`` are what the option's ``type=`` made of the argument (argparse types them as Any).
class _ExtendDict(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = dict(getattr(namespace, self.dest, None) or {})
        current.update(values)
        setattr(namespace, self.dest, current)


class _ConfigFileAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, os.path.abspath(values))


def _add_one(container: argparse._ActionsContainer, opt: Option) -> None:
    kw: dict[str, Any] = {"dest": opt.dest, "help": argparse.SUPPRESS if opt.hidden else opt.help}
    if opt.action == "store_true":
        kw.update(action="store_true", default=opt.default)
    elif opt.action == "store_const":
        kw.update(action="store_const", const=opt.const)
        kw["default"] = argparse.SUPPRESS
    elif opt.action == "optional_bool":
        kw.update(nargs="?", const=True, type=_bool, default=opt.default, metavar="BOOL")
    elif opt.action == "optional_path":
        kw.update(nargs="?", const=os.getcwd(), default=opt.default, metavar=opt.metavar or "OPT_PATH")
    elif opt.action == "extend_dict":
        kw.update(action=_ExtendDict, type=opt.type, default=_copy_default(opt.default), metavar=opt.metavar)
    else:
        kw.update(default=_copy_default(opt.default))
        if opt.type is not None:
            kw["type"] = opt.type
        if opt.choices is not None:
            kw["choices"] = opt.choices
        if opt.metavar:
            kw["metavar"] = opt.metavar
    container.add_argument(*opt.flags, **kw)


def add_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    jobstore_as_flag: bool = False,
    extra_batch_systems: Sequence[str] = (),
) -> None:
    """Add every workflow option, and the job store argument, to ``parser``."""
    from toil.runtime.batch import batch_system_names

    target = parser
    groups: dict[str, argparse._ActionsContainer] = {}

    def group(name: str) -> argparse._ActionsContainer:
        if name not in groups:
            groups[name] = target.add_argument_group(GROUPS[name]) if hasattr(target, "add_argument_group") else target
        return groups[name]

    group("core").add_argument(
        "--config",
        dest="config",
        default=None,
        metavar="PATH",
        action=_ConfigFileAction,
        help="Read option values from this YAML file (as written by 'toil config').",
    )
    if jobstore_as_flag:
        group("core").add_argument(
            "--jobStore",
            "--jobstore",
            dest="jobStore",
            default=None,
            help="The job store: file:PATH, a bare PATH, or aws:REGION:NAME.",
        )
    else:
        group("core").add_argument("jobStore", help="The job store: file:PATH, a bare PATH, or aws:REGION:NAME.")
    names = list(batch_system_names()) + [n for n in extra_batch_systems if n not in batch_system_names()]
    for opt in OPTIONS:
        if opt.dest == "batchSystem":
            opt = Option(**{**opt.__dict__, "choices": names})
        _add_one(group(opt.group), opt)


def add_option_group(parser: argparse.ArgumentParser | argparse._ArgumentGroup, group_key: str) -> None:
    """Add only the options of one group of the table (e.g. 'logging') to ``parser``."""
    target = parser.add_argument_group(GROUPS[group_key]) if hasattr(parser, "add_argument_group") else parser
    for opt in OPTIONS:
        if opt.group == group_key:
            _add_one(target, opt)


def load_config_file(path: str) -> dict[str, Any]:
    """Read a YAML config file of option values; a clear error names the file on a mistake."""
    import yaml

    from toil.exceptions import ToilUserError

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ToilUserError(f"{path}: config file not found") from None
    except UnicodeDecodeError as e:
        raise ToilUserError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ToilUserError(f"{path}: cannot read the config file: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ToilUserError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ToilUserError(f"{path}: a config file must be a mapping of option names to values")
    out: dict[str, Any] = {}
    for key, value in data.items():
        opt = _option_for_key(str(key))
        if opt is None:
            if key in ("config_version", "jobStore"):
                continue
            raise ToilUserError(f"{path}: unknown option {key!r}")
        out[opt.dest] = _coerce(opt, value, path)
    return out


def _option_for_key(key: str) -> Option | None:
    if key in BY_DEST:
        return BY_DEST[key]
    for opt in OPTIONS:
        if any(flag.lstrip("-") == key for flag in opt.flags):
            return BY_DEST[opt.dest]
    return None


def _coerce(opt: Option, value: object, source: str) -> Any:
    """Convert a config-file or environment value with the option's parser."""
    from toil.exceptions import ToilUserError

    if value is None:
        return None
    if not isinstance(value, (str, int, float, list, dict)):
        raise ToilUserError(f"{source}: bad value for {opt.dest}: {type(value).__name__} {reprlib.repr(value)}")
    if opt.type is None and opt.action == "store" and not isinstance(value, str):  # the string options
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ToilUserError(
                f"{source}: bad value for {opt.dest}: expected a string, got "
                f"{type(value).__name__} {reprlib.repr(value)}"
            )
        value = str(value)
    try:
        if opt.action in ("store_true", "optional_bool"):
            return strtobool(value if isinstance(value, bool) else str(value))
        if opt.action == "extend_dict":
            return dict(value) if isinstance(value, dict) else _env_pairs(str(value))
        if isinstance(value, list) and opt.type not in (_int_list, _str_list):
            if value and all(isinstance(v, dict) for v in value):
                return value  # already parsed (e.g. accelerators written by 'toil config')
            value = ",".join(map(str, value))  # a YAML list of a comma-separated option
        if isinstance(value, bool) and opt.type not in (None, _bool):
            raise TypeError(f"expected a value, got {reprlib.repr(value)}")
        if opt.type is not None and not (isinstance(value, list) and opt.type in (_int_list, _str_list)):
            numeric = opt.type in (int, float, _positive_float, _nonneg_float, _nonneg_int, _positive_int)
            value = opt.type(str(value)) if not isinstance(value, (int, float)) or not numeric else value
        if opt.choices is not None and value not in opt.choices:
            raise argparse.ArgumentTypeError(f"{reprlib.repr(value)} is not one of {', '.join(map(str, opt.choices))}")
        return value
    except (argparse.ArgumentTypeError, ValueError, TypeError, RecursionError) as e:
        raise ToilUserError(f"{source}: bad value for {opt.dest}: {e}") from None


def resolve(options: argparse.Namespace) -> argparse.Namespace:
    """Fill options not given on the command line from the environment, then the config file.

    Works on any namespace that went through ``add_options`` (our parser or a
    user's own argparse parser). Values equal to the built-in default count as
    not given. Missing attributes are filled with defaults.
    """
    base = defaults()
    from_file: dict[str, Any] = {}
    config_path = getattr(options, "config", None)
    if config_path:
        from_file = load_config_file(config_path)
    for dest, default in base.items():
        current = getattr(options, dest, default)
        if _same(current, default):
            opt = BY_DEST[dest]
            env_value = os.environ.get(opt.env) if opt.env else None
            if env_value:
                current = _coerce(opt, env_value, f"environment variable {opt.env}")
            elif dest in from_file:
                current = from_file[dest]
        elif current is not None:
            # Given on the command line (already parsed), or set on the namespace by a program: checked
            # as a config file's value would be, so a junk value fails here in one line, not in a job.
            current = _coerce(BY_DEST[dest], current, f"option {dest}")
        setattr(options, dest, current)
    if not hasattr(options, "config"):
        options.config = None
    return options


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b) and type(a) is type(b) or (a is None and b is None)
    except Exception:
        return False


def write_config(path: str) -> None:
    """Write a commented YAML file of every option with its default, readable by --config."""
    import yaml

    lines = ["# Workflow options, as read by --config. Command-line flags override these values.", ""]
    seen: set[str] = set()
    for group_key, title in GROUPS.items():
        opts = [o for o in OPTIONS if o.group == group_key and o.in_config and not o.hidden and o.dest not in seen]
        if not opts:
            continue
        lines.append(f"# {title}")
        for opt in opts:
            seen.add(opt.dest)
            value = _copy_default(opt.default)
            if value is None and opt.action == "store_true":
                value = False
            lines.append(f"# {opt.help}" if opt.help else f"# {opt.flags[0]}")
            dumped = yaml.safe_dump({opt.dest: value}, default_flow_style=True, width=10**6).strip()
            dumped = dumped[1:-1] if dumped.startswith("{") else dumped
            lines.append(dumped)
        lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
