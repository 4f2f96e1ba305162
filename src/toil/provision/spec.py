"""The typed cluster description every provisioner takes, and the interface each one implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from toil.exceptions import ToilUserError
from toil.provision.autoscale.prices import OfflinePrices, PriceSource

CLUSTER_TYPES = ("kubernetes", "mesos")
LEADER = "leader"
WORKER = "worker"


class ProvisionError(ToilUserError):
    """A cluster operation that failed, said in one line (what failed, and what was done about it)."""


class NoSuchClusterError(ProvisionError):
    """No cluster of that name exists in that zone."""


class ClusterExistsError(ProvisionError):
    """A cluster of that name already exists in that region."""


@dataclass(frozen=True)
class NodeType:
    """One worker node type: interchangeable instance types, spot at ``spot_bid`` dollars/hour if given."""

    instance_types: tuple[str, ...]
    spot_bid: float | None = None

    @property
    def preemptible(self) -> bool:
        """Whether nodes of this type are spot instances."""
        return self.spot_bid is not None

    def __str__(self) -> str:
        bid = "" if self.spot_bid is None else f":{self.spot_bid}"
        return "/".join(self.instance_types) + bid


@dataclass(frozen=True)
class WorkerGroup:
    """Workers of one node type: launch ``min_count`` now, let the autoscaler grow to ``max_count``."""

    node_type: NodeType
    min_count: int
    max_count: int

    @property
    def fixed(self) -> bool:
        """Whether the count is fixed (no range given for the autoscaler)."""
        return self.min_count == self.max_count


@dataclass(frozen=True)
class ClusterSpec:
    """Everything ``launch-cluster`` was asked for, checked and with its defaults filled in."""

    name: str
    zone: str
    key_pair: str
    leader_node_type: str
    cluster_type: str = "kubernetes"
    workers: tuple[WorkerGroup, ...] = ()
    leader_storage_gb: int = 50
    node_storage_gb: int = 50
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # the user's tags: -t, TOIL_AWS_TAGS
    subnet: str | None = None
    profile_arn: str | None = None  # use this instance profile instead of creating one
    extra_security_groups: tuple[str, ...] = ()
    appliance: str = ""
    image: str | None = None  # the machine image (TOIL_AWS_AMI); None: the provider's default
    # how long a launch waits for the leader's appliance to answer over ssh (seconds; 0: do not wait)
    leader_wait: float = 1200.0

    @property
    def region(self) -> str:
        """The region of the zone (us-west-2a -> us-west-2)."""
        return self.zone[:-1] if self.zone[-1:].isalpha() else self.zone

    def base_tags(self) -> dict[str, str]:
        """The tags of every resource of the cluster, as Toil sets them (the user's override Name and Owner)."""
        tags = {"Name": self.name, "Owner": self.owner or self.key_pair, "clusterName": self.name}
        tags.update(self.tags)
        tags["clusterName"] = self.name  # what destroy finds the cluster by: a user tag must not move it
        if self.cluster_type == "kubernetes":
            tags[f"kubernetes.io/cluster/{self.name}"] = ""  # Kubernetes' AWS integrations find the nodes by it
        return tags

    def node_tags(self, role: str) -> dict[str, str]:
        """The tags of one node (ToilNodeType leader or worker)."""
        return {**self.base_tags(), "ToilNodeType": role}


@dataclass
class LaunchedCluster:
    """What a launch made: the leader and the workers' instance ids, and the spot requests."""

    name: str
    leader_id: str
    worker_ids: list[str] = field(default_factory=list)
    spot_request_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WorkerNode:
    """One worker instance of a cluster as its provider lists it (what the autoscaler adds and removes)."""

    name: str  # the provider's id of it (an EC2 instance id)
    node_type: str  # the node type it was started as, as --nodeTypes spells it (str(NodeType))
    preemptible: bool
    address: str = ""  # its private address: how batch systems name the node
    launched_at: float = 0.0  # seconds since the epoch


@dataclass
class DestroyReport:
    """What a destroy removed, by kind ('instance', 'security-group', ...)."""

    removed: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, what: str) -> None:
        """Record one removed resource."""
        self.removed.setdefault(kind, []).append(what)

    def count(self) -> int:
        """How many resources were removed."""
        return sum(len(v) for v in self.removed.values())


class ClusterProvisioner(abc.ABC):
    """Creates and destroys whole clusters; a provider implements it and registers under a name."""

    @abc.abstractmethod
    def launch(self, spec: ClusterSpec) -> LaunchedCluster:
        """Make the cluster; on failure remove what was made and raise ProvisionError."""

    @abc.abstractmethod
    def destroy(self, name: str) -> DestroyReport:
        """Remove every resource of the cluster; idempotent, touching nothing of another cluster."""

    @abc.abstractmethod
    def leader_address(self, name: str) -> str:
        """The leader's public address (else private), NoSuchClusterError if there is no running leader."""

    def add_nodes(self, cluster: str, node_type: NodeType, count: int) -> list[WorkerNode]:
        """Start ``count`` workers of a type (spot at its bid); those started, fewer when spot capacity is short."""
        raise ProvisionError(f"the {type(self).__name__} provisioner cannot add nodes to cluster {cluster}")

    def terminate_nodes(self, cluster: str, names: Sequence[str]) -> None:
        """Remove workers of the cluster by name; names not of its workers are left alone."""
        raise ProvisionError(f"the {type(self).__name__} provisioner cannot remove nodes of cluster {cluster}")

    def worker_nodes(self, cluster: str) -> list[WorkerNode]:
        """The cluster's workers that are starting or running."""
        raise ProvisionError(f"the {type(self).__name__} provisioner cannot list the nodes of cluster {cluster}")

    def prices(self) -> PriceSource:
        """The provider's hourly prices (the offline table where it has none)."""
        return OfflinePrices()
