"""The autoscaler on a real cluster: node types from Toil's options, and the driver's backend over a provisioner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toil.provision.autoscale.policy import (
    BOOTING,
    DRAINING,
    NOTICE,
    UP,
    JobDemand,
    NodeChoice,
    NodeStatus,
    PolicyOptions,
)
from toil.provision.autoscale.prices import GIB, OfflinePrices, PriceSource, hourly_price, instance_shape
from toil.provision.parsing import parse_node_types
from toil.provision.spec import ClusterProvisioner, ClusterSpec, NodeType, ProvisionError, WorkerGroup
from toil.runtime.batch.base import NodeInfo
from toil.runtime.config import Config


def _per_type(values: Sequence[int], count: int, pad: int | None) -> list[int]:
    """--maxNodes/--minNodes per node type, padded as Toil pads them (the first maximum; minimum 0)."""
    if len(values) > count:
        raise ProvisionError(f"{len(values)} node counts given for {count} node type(s) in --nodeTypes")
    filler = (values[0] if values else 0) if pad is None else pad
    return list(values) + [filler] * (count - len(values))


def _storage_overrides(overrides: Sequence[str]) -> dict[str, int]:
    """--nodeStorageOverrides 'c5.4xlarge:100,...' -> {instance type: GB}."""
    found: dict[str, int] = {}
    for item in overrides:
        name, _, size = item.partition(":")
        if not size.isdigit():
            raise ProvisionError(f"bad --nodeStorageOverrides entry {item!r}: give INSTANCE_TYPE:GB")
        found[name] = int(size)
    return found


def node_choices(config: Config, prices: PriceSource | None = None) -> tuple[list[NodeChoice], dict[str, NodeType]]:
    """The policy's node types from --nodeTypes (with bids), --minNodes, --maxNodes, --nodeStorage(Overrides)."""
    types = parse_node_types(",".join(config.nodeTypes))
    if not types:
        raise ProvisionError("autoscaling needs --nodeTypes")
    groups = zip(types, _per_type(config.minNodes, len(types), 0), _per_type(config.maxNodes, len(types), None))
    storage = _storage_overrides(config.nodeStorageOverrides)
    return _choices([WorkerGroup(t, low, high) for t, low, high in groups], config.nodeStorage, storage, prices)


def cluster_node_choices(
    spec: ClusterSpec, prices: PriceSource | None = None
) -> tuple[list[NodeChoice], dict[str, NodeType]]:
    """The policy's node types from launch-cluster's --nodeTypes and -w ranges ('-w 1-4': at least 1, at most 4)."""
    return _choices(list(spec.workers), spec.node_storage_gb, {}, prices)


def _choices(
    groups: list[WorkerGroup], storage_gb: int, overrides: dict[str, int], prices: PriceSource | None
) -> tuple[list[NodeChoice], dict[str, NodeType]]:
    prices = prices or OfflinePrices()
    choices, by_key = [], {}
    for group in groups:
        node_type = group.node_type
        # interchangeable instance types: the shape of the first, the price of the cheapest
        shape = instance_shape(node_type.instance_types[0])
        hourly = min(hourly_price(t, node_type.spot_bid, prices) for t in node_type.instance_types)
        key = str(node_type)
        choices.append(
            NodeChoice(
                key,
                shape.name,
                shape.cores,
                shape.memory,
                overrides.get(shape.name, storage_gb) * GIB,
                hourly,
                node_type.preemptible,
                shape.accelerators,
                min(group.min_count, group.max_count),
                group.max_count,
            )
        )
        by_key[key] = node_type
    return choices, by_key


def policy_options(config: Config) -> PolicyOptions:
    """The policy's options from Toil's."""
    if not 0.0 <= config.betaInertia <= 0.9:
        raise ProvisionError(f"bad --betaInertia {config.betaInertia}: give a value from 0.0 to 0.9")
    if not 0.0 <= config.preemptibleCompensation <= 1.0:
        raise ProvisionError(f"bad --preemptibleCompensation {config.preemptibleCompensation}: give 0.0 to 1.0")
    return PolicyOptions(
        target_time=float(config.targetTime or 1),
        beta_inertia=config.betaInertia,
        preemptible_compensation=config.preemptibleCompensation,
        assume_zero_overhead=config.assume_zero_overhead,
    )


_STATES = {"up": UP, "draining": DRAINING, "notice": NOTICE}


@dataclass
class ProvisionedBackend:
    """The driver's backend on a cluster: the provisioner adds and removes nodes, the batch system describes them."""

    provisioner: ClusterProvisioner
    cluster: str
    node_types: dict[str, NodeType]  # choice key -> node type
    batch_nodes: Callable[[], Sequence[NodeInfo]]  # BatchSystem.nodes
    queue: Callable[[], list[JobDemand]]  # queued and running jobs, from the leader's read-only view
    drain_node: Callable[[str], None]
    undrain_node: Callable[[str], None]
    fail: Callable[[str, str], None]
    reissue_job: Callable[[str], None]

    def jobs(self) -> list[JobDemand]:
        """Queued and running jobs."""
        return self.queue()

    def nodes(self) -> list[NodeStatus]:
        """Each worker the provider lists, in the state its batch system reports (booting until it reports)."""
        reported: dict[str, NodeInfo] = {}
        for described in self.batch_nodes():
            reported[described.name] = reported[described.address or described.name] = described
        statuses = []
        for worker in self.provisioner.worker_nodes(self.cluster):
            info = reported.get(worker.address) or reported.get(worker.name)
            if info is not None and info.state == "down":
                continue
            state = BOOTING if info is None else _STATES.get(info.state, UP)
            statuses.append(NodeStatus(worker.name, worker.node_type, state, bool(info and info.busy)))
        return statuses

    def add_nodes(self, choice: NodeChoice, count: int) -> list[str]:
        """Start nodes through the provisioner."""
        return [w.name for w in self.provisioner.add_nodes(self.cluster, self.node_types[choice.key], count)]

    def drain(self, name: str) -> None:
        """Stop new jobs going to the node."""
        self.drain_node(name)

    def undrain(self, name: str) -> None:
        """Let jobs go to the node again."""
        self.undrain_node(name)

    def terminate(self, names: Sequence[str]) -> None:
        """Remove nodes through the provisioner."""
        if names:
            self.provisioner.terminate_nodes(self.cluster, names)

    def fail_job(self, job: str, message: str) -> None:
        """Fail a job no node type fits."""
        self.fail(job, message)

    def reissue(self, job: str) -> None:
        """Re-issue a job elsewhere (its node is being preempted)."""
        self.reissue_job(job)
