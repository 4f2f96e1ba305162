"""The autoscaler on a cluster: node types from Toil's options, nodes from the provisioner and the batch system."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from toil.provision.autoscale.cluster import ProvisionedBackend, cluster_node_choices, node_choices, policy_options
from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.policy import BOOTING, DRAINING, UP, JobDemand
from toil.provision.parsing import build_spec
from toil.provision.spec import ClusterProvisioner, NodeType, ProvisionError, WorkerNode
from toil.runtime.batch.base import NodeInfo

GIB = 1024**3


def config(**kw: Any) -> Any:
    base = dict(
        nodeTypes=["c5.4xlarge/c5a.4xlarge:0.40", "r5.4xlarge"],
        maxNodes=[5],
        minNodes=[1],
        nodeStorage=50,
        nodeStorageOverrides=["r5.4xlarge:200"],
        targetTime=1800,
        betaInertia=0.1,
        preemptibleCompensation=0.0,
        assume_zero_overhead=False,
    )
    return SimpleNamespace(**{**base, **kw})


def test_node_types_with_bids_counts_padded_as_toil_does_and_storage_overrides() -> None:
    choices, types = node_choices(config())
    spot, big = choices
    assert spot.key == "c5.4xlarge/c5a.4xlarge:0.4" and spot.preemptible and spot.instance_type == "c5.4xlarge"
    assert spot.hourly == pytest.approx(0.2156)  # the cheaper of the two interchangeable types, under the bid
    assert (spot.min_count, spot.max_count, big.min_count, big.max_count) == (1, 5, 0, 5)
    assert big.disk == 200 * GIB and spot.disk == 50 * GIB
    assert types[spot.key] == NodeType(("c5.4xlarge", "c5a.4xlarge"), 0.4)
    assert policy_options(config()).target_time == 1800
    with pytest.raises(ProvisionError, match="betaInertia"):
        policy_options(config(betaInertia=2.0))
    with pytest.raises(ProvisionError, match="3 node counts"):
        node_choices(config(maxNodes=[1, 2, 3]))


class FakeProvisioner(ClusterProvisioner):
    """Workers in a list."""

    def __init__(self) -> None:
        self.workers: list[WorkerNode] = []

    def launch(self, spec: Any) -> Any:
        raise NotImplementedError

    def destroy(self, name: str) -> Any:
        raise NotImplementedError

    def leader_address(self, name: str) -> str:
        return "leader"

    def add_nodes(self, cluster: str, node_type: NodeType, count: int) -> list[WorkerNode]:
        made = [WorkerNode(f"i-{len(self.workers) + k}", str(node_type), node_type.preemptible) for k in range(count)]
        self.workers += made
        return made

    def terminate_nodes(self, cluster: str, names: Sequence[str]) -> None:
        self.workers = [w for w in self.workers if w.name not in names]

    def worker_nodes(self, cluster: str) -> list[WorkerNode]:
        return list(self.workers)


def test_the_driver_scales_a_cluster_through_the_provisioner_and_removes_all_it_launched() -> None:
    provisioner = FakeProvisioner()
    choices, types = node_choices(config(minNodes=[0]))
    reports: list[NodeInfo] = []
    drained: list[str] = []
    queue = [JobDemand("a", 1, GIB, GIB, preemptible=True)] * 40
    backend = ProvisionedBackend(
        provisioner,
        "c",
        types,
        lambda: reports,
        lambda: queue,
        drained.append,
        drained.remove,
        lambda j, m: None,
        lambda j: None,
    )
    driver = AutoscaleDriver(backend, choices, policy_options(config()))
    driver.step(0.0)
    assert [w.node_type for w in provisioner.workers] == ["c5.4xlarge/c5a.4xlarge:0.4"]
    assert [n.state for n in backend.nodes()] == [BOOTING]
    reports.append(NodeInfo("i-0", state="up"))
    assert [n.state for n in backend.nodes()] == [UP]
    reports[0] = NodeInfo("i-0", state="draining", running_jobs=1)
    assert [(n.state, n.busy) for n in backend.nodes()] == [(DRAINING, True)]
    queue.clear()
    reports[0] = NodeInfo("i-0", state="up")
    driver.step(60.0)
    assert provisioner.workers == [] and drained == ["i-0"]
    driver.step(120.0)
    driver.shutdown()
    assert provisioner.workers == []


def test_a_provisioner_without_autoscaling_says_so_in_one_line() -> None:
    with pytest.raises(ProvisionError, match="cannot add nodes to cluster c"):
        FakeProvisioner.__mro__[1].add_nodes(FakeProvisioner(), "c", NodeType(("t2.large",)), 1)


def test_launch_cluster_ranges_are_the_autoscalers_minimum_and_maximum() -> None:
    spec = build_spec(
        "c", "us-west-2a", "key", "t2.medium", node_types="t2.large:0.2,r5.4xlarge", workers="1-4,0-2", environ={}
    )
    choices, _ = cluster_node_choices(spec)
    assert [(c.key, c.min_count, c.max_count, c.preemptible) for c in choices] == [
        ("t2.large:0.2", 1, 4, True),
        ("r5.4xlarge", 0, 2, False),
    ]


def test_a_failing_provisioner_loses_neither_what_was_learned_nor_the_loop() -> None:
    class Refusing(FakeProvisioner):
        def add_nodes(self, cluster: str, node_type: NodeType, count: int) -> list[WorkerNode]:
            raise ProvisionError("no capacity")

    choices, types = node_choices(config(minNodes=[0]))
    queue = [JobDemand("a", 1, GIB, GIB, preemptible=True)] * 4
    backend = ProvisionedBackend(
        Refusing(), "c", types, list, lambda: queue, print, print, lambda j, m: None, lambda j: None
    )
    driver = AutoscaleDriver(backend, choices, policy_options(config()))
    driver.job_finished("a", 42.0)
    with pytest.raises(ProvisionError):
        driver.step(0.0)
    assert driver.state.runtimes["a"].mean == 42.0


def test_a_notice_reported_by_the_batch_system_reissues_the_jobs_that_would_not_finish() -> None:
    provisioner = FakeProvisioner()
    provisioner.workers = [WorkerNode("i-9", "c5.4xlarge/c5a.4xlarge:0.4", True)]
    choices, types = node_choices(config(minNodes=[0]))
    reissued: list[str] = []
    queue = [
        JobDemand("long", 1, GIB, GIB, preemptible=True, node="i-9", running_for=10.0, id="1"),
        JobDemand("short", 1, GIB, GIB, preemptible=True, node="i-9", running_for=10.0, id="2"),
    ]
    backend = ProvisionedBackend(
        provisioner,
        "c",
        types,
        lambda: [NodeInfo("i-9", state="notice", running_jobs=2)],
        lambda: queue,
        print,
        print,
        lambda j, m: None,
        reissued.append,
    )
    driver = AutoscaleDriver(backend, choices, policy_options(config()))
    driver.job_finished("long", 3000.0)
    driver.job_finished("short", 30.0)
    driver.step(0.0)
    driver.step(60.0)
    assert reissued == ["1"]
