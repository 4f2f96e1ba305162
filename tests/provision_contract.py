"""What every ClusterProvisioner must do; a provider's test class inherits ProvisionerContract.

The subclass provides three fixtures: ``provisioner`` (a ClusterProvisioner), ``make_spec`` (cluster
name -> a small ClusterSpec with one on-demand and one spot worker) and ``leftovers`` (cluster name ->
{kind: [resources]} still existing, found by tag and by name, without the provisioner's help).
"""

from __future__ import annotations

import uuid
from typing import Callable

import pytest

from toil.provision.spec import ClusterExistsError, ClusterProvisioner, ClusterSpec, NoSuchClusterError

MakeSpec = Callable[[str], ClusterSpec]
Leftovers = Callable[[str], dict[str, list[str]]]


def fresh_name() -> str:
    """A cluster name no other test (or engineer) uses."""
    return f"pc-{uuid.uuid4().hex[:10]}"


class ProvisionerContract:
    def test_launch_destroy_and_destroy_again(
        self, provisioner: ClusterProvisioner, make_spec: MakeSpec, leftovers: Leftovers
    ) -> None:
        name = fresh_name()
        cluster = provisioner.launch(make_spec(name))
        assert cluster.leader_id and len(cluster.worker_ids) == 2
        assert leftovers(name)  # the inventory sees the running cluster
        assert provisioner.leader_address(name)
        report = provisioner.destroy(name)
        assert cluster.leader_id in report.removed["instance"]
        assert leftovers(name) == {}
        assert provisioner.destroy(name).count() == 0  # a second run finds nothing and succeeds

    def test_every_worker_type_has_prices(self, provisioner: ClusterProvisioner, make_spec: MakeSpec) -> None:
        prices = provisioner.prices()
        for group in make_spec(fresh_name()).workers:
            for instance_type in group.node_type.instance_types:
                on_demand, spot = prices.on_demand(instance_type), prices.spot(instance_type)
                assert on_demand is not None and on_demand > 0, instance_type
                assert spot is not None and 0 < spot, instance_type
        assert prices.name

    def test_destroy_of_an_unknown_cluster_removes_nothing(self, provisioner: ClusterProvisioner) -> None:
        assert provisioner.destroy(fresh_name()).count() == 0

    def test_leader_of_an_unknown_cluster_is_one_error(self, provisioner: ClusterProvisioner) -> None:
        with pytest.raises(NoSuchClusterError):
            provisioner.leader_address(fresh_name())

    def test_a_taken_name_and_another_cluster_are_left_alone(
        self, provisioner: ClusterProvisioner, make_spec: MakeSpec, leftovers: Leftovers
    ) -> None:
        mine, other = fresh_name(), fresh_name()
        provisioner.launch(make_spec(mine))
        provisioner.launch(make_spec(other))
        before_mine, before_other = leftovers(mine), leftovers(other)
        with pytest.raises(ClusterExistsError, match="already exists"):
            provisioner.launch(make_spec(mine))
        assert leftovers(mine) == before_mine
        provisioner.destroy(mine)
        assert leftovers(other) == before_other
        provisioner.destroy(other)
        assert leftovers(mine) == {} and leftovers(other) == {}
