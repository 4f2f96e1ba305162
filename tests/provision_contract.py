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
    def test_launch_then_destroy_leaves_nothing(
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

    def test_destroy_twice_finishes(
        self, provisioner: ClusterProvisioner, make_spec: MakeSpec, leftovers: Leftovers
    ) -> None:
        name = fresh_name()
        provisioner.launch(make_spec(name))
        assert provisioner.destroy(name).count() > 0
        assert provisioner.destroy(name).count() == 0
        assert leftovers(name) == {}

    def test_destroy_of_an_unknown_cluster_removes_nothing(self, provisioner: ClusterProvisioner) -> None:
        assert provisioner.destroy(fresh_name()).count() == 0

    def test_leader_of_an_unknown_cluster_is_one_error(self, provisioner: ClusterProvisioner) -> None:
        with pytest.raises(NoSuchClusterError):
            provisioner.leader_address(fresh_name())

    def test_launch_under_a_taken_name_leaves_the_cluster_alone(
        self, provisioner: ClusterProvisioner, make_spec: MakeSpec, leftovers: Leftovers
    ) -> None:
        name = fresh_name()
        provisioner.launch(make_spec(name))
        before = leftovers(name)
        with pytest.raises(ClusterExistsError, match="already exists"):
            provisioner.launch(make_spec(name))
        assert leftovers(name) == before
        provisioner.destroy(name)
        assert leftovers(name) == {}

    def test_destroy_spares_another_cluster(
        self, provisioner: ClusterProvisioner, make_spec: MakeSpec, leftovers: Leftovers
    ) -> None:
        mine, other = fresh_name(), fresh_name()
        provisioner.launch(make_spec(mine))
        provisioner.launch(make_spec(other))
        before = leftovers(other)
        provisioner.destroy(mine)
        assert leftovers(other) == before
        provisioner.destroy(other)
        assert leftovers(mine) == {} and leftovers(other) == {}
