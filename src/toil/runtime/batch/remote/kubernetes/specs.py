"""What the workflow asks Kubernetes for: Job manifests, as the API's own (camelCase) dictionaries.

Pure functions of a ``PodSettings`` (the workflow's, fixed at start) and one job's resources, so they are
unit-tested without a cluster. Placement follows Toil's scheme for preemptible capacity: the labels EKS and
GKE put on spot nodes and GKE's taint. A preemptible job prefers such nodes and tolerates the taint; a job
that is not preemptible is kept off them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from toil.compiler.ir import Resources

# Toil's (toil.batchSystems.kubernetes): a node is preemptible if it carries one of these labels (or taints).
PREEMPTIBLE_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("eks.amazonaws.com/capacityType", ("SPOT",)),
    ("cloud.google.com/gke-preemptible", ("true",)),
)
PREEMPTIBLE_TAINTS: tuple[tuple[str, str], ...] = (("cloud.google.com/gke-preemptible", "true"),)
# The label a node agent puts on a (cordoned) node under a spot interruption notice; its value, when.
SPOT_NOTICE_LABEL = "toil.io/spot-notice"
# What every object of a workflow carries: one selector finds, counts and deletes them all.
RUN_LABEL = "toil_run"
OWNER_LABEL = "toil_owner"
# Where the worker's temporary files go in a pod when no host path is shared.
POD_WORK_DIR = "/var/lib/toil"
# Kubernetes counts the worker too: a Python interpreter with the front ends' libraries before the job runs.
WORKER_MEMORY_FLOOR = 256 * 2**20
# ... and writes to the pod's own disk (its log, Python's caches, the deployed user code) besides the job's files.
WORKER_DISK = 256 * 2**20
CONTAINER_NAME = "worker"
# Podman's image and container storage in a privileged pod (containerised steps): a volume of the node's disk,
# as overlay mounts cannot be made on the container's own (overlay) root file system.
CONTAINER_STORAGE = "/var/lib/containers"


@dataclass(frozen=True)
class PodSettings:
    """The workflow's choices for every pod (options and environment, read once at start)."""

    image: str
    namespace: str
    run_label: str  # the value of RUN_LABEL
    owner: str
    secret: str | None = None  # the Secret holding the forwarded environment, as envFrom
    environment: dict[str, str] = field(default_factory=dict)  # plain (not secret) variables
    host_path: str | None = None  # --kubernetesHostPath: mounted at the same path, the work directory
    service_account: str | None = None
    privileged: bool = False
    pull_policy: str = "IfNotPresent"
    grace_seconds: int = 5
    finished_ttl_seconds: int = 3600

    @property
    def work_dir(self) -> str:
        return self.host_path or POD_WORK_DIR


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric."""
    out = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].rstrip("-")
    return out or "x"


def quantity(value: float) -> str:
    """A resource quantity Kubernetes accepts: whole numbers as such, fractions in thousandths (``m``)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{max(1, math.ceil(value * 1000))}m"


def resource_requirements(resources: Resources) -> dict[str, dict[str, str]]:
    """Requests and limits for one job: cores, memory (never below what a worker needs), disk, GPUs.

    Memory and disk limits equal the requests, so a job over its memory is OOMKilled (and retried with more
    under --doubleMem); the disk has room for the worker's own files on top of the job's. A fractional-core job
    may burst to a whole core: a CPU limit of 0.1 core would make the worker's own start-up ten times as long.
    """
    memory = max(int(resources.memory), WORKER_MEMORY_FLOOR)
    requests = {"cpu": quantity(max(resources.cores, 0.001)), "memory": str(memory)}
    limits = {"cpu": quantity(max(1, math.ceil(resources.cores - 1e-9))), "memory": str(memory)}
    if resources.disk:
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = str(int(resources.disk) + WORKER_DISK)
    gpus = resources.accelerator_count
    if gpus:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(gpus)
    return {"requests": requests, "limits": limits}


def placement(preemptible: bool) -> dict[str, Any]:
    """Affinity and tolerations: preemptible jobs prefer spot nodes, the others must not land on one."""
    if preemptible:
        preferred = [
            {"weight": 100, "preference": {"matchExpressions": [{"key": k, "operator": "In", "values": list(v)}]}}
            for k, v in PREEMPTIBLE_LABELS
        ]
        tolerations = [{"key": k, "operator": "Equal", "value": v} for k, v in PREEMPTIBLE_TAINTS]
        return {
            "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}},
            "tolerations": tolerations,
        }
    not_spot = [{"key": k, "operator": "NotIn", "values": list(v)} for k, v in PREEMPTIBLE_LABELS]
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": not_spot}]
                }
            }
        }
    }


def volumes(settings: PodSettings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod's volumes and the worker's mounts: the shared host path, or a scratch directory of its own, and
    Podman's storage in a privileged pod."""
    if settings.host_path:
        source: dict[str, Any] = {"hostPath": {"path": settings.host_path, "type": "DirectoryOrCreate"}}
    else:
        source = {"emptyDir": {}}
    vols, mounts = [{"name": "workdir", **source}], [{"name": "workdir", "mountPath": settings.work_dir}]
    if settings.privileged:  # only a privileged pod can run Podman: its storage
        vols.append({"name": "containers", "emptyDir": {}})
        mounts.append({"name": "containers", "mountPath": CONTAINER_STORAGE})
    return vols, mounts


def job_manifest(
    settings: PodSettings, name: str, command: list[str], resources: Resources, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ``batch/v1`` Job that runs ``command`` once in the appliance, never retried by Kubernetes."""
    meta_labels = {RUN_LABEL: settings.run_label, OWNER_LABEL: settings.owner, **(labels or {})}
    vols, mounts = volumes(settings)
    env = [
        {"name": k, "value": v} for k, v in sorted({**settings.environment, "TOIL_WORKDIR": settings.work_dir}.items())
    ]
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": settings.image,
        "imagePullPolicy": settings.pull_policy,
        "command": command,
        "env": env,
        "resources": resource_requirements(resources),
        "volumeMounts": mounts,
        "workingDir": settings.work_dir,
    }
    if settings.secret:
        container["envFrom"] = [{"secretRef": {"name": settings.secret}}]
    if settings.privileged:
        container["securityContext"] = {"privileged": True}
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # The workflow's traffic (job store, leader) goes where the leader's does; on a test cluster, loopback.
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "terminationGracePeriodSeconds": settings.grace_seconds,
        "containers": [container],
        "volumes": vols,
        **placement(resources.preemptible),
    }
    if settings.service_account:
        pod_spec["serviceAccountName"] = settings.service_account
    metadata = {
        "name": name,
        "labels": meta_labels,
        # a cluster autoscaler must not evict a running job to shrink the cluster
        "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": settings.finished_ttl_seconds,
            "template": {"metadata": {"labels": meta_labels}, "spec": pod_spec},
        },
    }


def secret_manifest(settings: PodSettings, name: str, values: dict[str, str]) -> dict[str, Any]:
    """The Secret the workflow's pods take their forwarded environment from (credentials among it)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {RUN_LABEL: settings.run_label, OWNER_LABEL: settings.owner}},
        "type": "Opaque",
        "stringData": values,
    }
