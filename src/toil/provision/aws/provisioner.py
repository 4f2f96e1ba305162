"""The AWS ClusterProvisioner: launch (removing what it made if it fails), destroy, find the leader."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from toil.provision.autoscale.prices import PriceSource
from toil.provision.aws.clients import AwsClients, describe
from toil.provision.aws.destroy import AwsDestroy, DestroyLimits
from toil.provision.aws.launch import AwsLaunch, LaunchLimits
from toil.provision.aws.names import NODE_TYPE_TAG
from toil.provision.aws.prices import AwsPrices
from toil.provision.aws.workers import AwsWorkers
from toil.provision.spec import (
    ClusterExistsError,
    ClusterProvisioner,
    ClusterSpec,
    DestroyReport,
    LaunchedCluster,
    NodeType,
    NoSuchClusterError,
    ProvisionError,
    WorkerNode,
)

log = logging.getLogger(__name__)


def region_of(zone: str) -> str:
    """us-west-2a -> us-west-2."""
    return zone[:-1] if zone[-1:].isalpha() else zone


class AWSProvisioner(ClusterProvisioner):
    """Clusters on EC2 in one zone, through boto3 (endpoints and credentials from the usual AWS settings)."""

    def __init__(
        self, zone: str, launch_limits: LaunchLimits | None = None, destroy_limits: DestroyLimits | None = None
    ) -> None:
        self.zone = zone
        self.aws = AwsClients(region_of(zone))
        self.launch_limits = launch_limits or LaunchLimits()
        self.destroy_limits = destroy_limits or DestroyLimits()

    def prices(self) -> PriceSource:
        """AWS's prices: the Price List API on demand, the zone's spot price history (the offline table if not)."""
        return AwsPrices(self.aws.session, self.zone)

    def launch(self, spec: ClusterSpec) -> LaunchedCluster:
        """Make the cluster; if any step fails, destroy what was made and raise one line saying what failed."""
        attempt = AwsLaunch(self.aws, spec, self.launch_limits)
        try:
            return attempt.run()
        except ClusterExistsError:
            raise
        except (Exception, KeyboardInterrupt) as e:
            what = f"launch-cluster {spec.name} failed while {attempt.step}: {describe(e)}"
            if not attempt.made:
                raise ProvisionError(what) from None
            raise ProvisionError(f"{what}; {self._remove_made(spec.name)}") from None

    def _remove_made(self, name: str) -> str:
        """Destroy what a failed launch made; the clause that says how that went."""
        try:
            removed = AwsDestroy(self.aws, name, self.destroy_limits).run()
        except Exception as e:
            return (
                f"removing what it made also failed ({describe(e)}): run 'toil destroy-cluster -z {self.zone} {name}'"
            )
        return f"removed the {removed.count()} resource(s) it had made"

    def destroy(self, name: str) -> DestroyReport:
        """Remove every resource tagged or named as this cluster's; a second run finds nothing and succeeds."""
        return AwsDestroy(self.aws, name, self.destroy_limits).run()

    def leader(self, name: str) -> dict[str, Any]:
        """The leader as Toil finds it: in the cluster's security group, tagged leader, the first launched."""
        in_group = {"Name": "instance.group-name", "Values": [name]}
        leader_tag = {"Name": f"tag:{NODE_TYPE_TAG}", "Values": ["leader"]}
        reservations = self.aws.ec2.describe_instances(Filters=[in_group, leader_tag])["Reservations"]
        found = [i for r in reservations for i in r["Instances"] if i["State"]["Name"] != "terminated"]
        if not found:
            raise NoSuchClusterError(f"no cluster {name} in {self.zone}: no leader found in its security group")
        leader = dict(min(found, key=lambda i: i["LaunchTime"]))
        state = leader["State"]["Name"]
        if state != "running":
            raise ProvisionError(f"the leader of cluster {name} ({leader['InstanceId']}) is {state}, not running")
        return leader

    def leader_address(self, name: str) -> str:
        """The leader's public address, else its private one."""
        leader = self.leader(name)
        address = leader.get("PublicIpAddress") or leader.get("PrivateIpAddress")
        if not address:
            raise ProvisionError(f"the leader of cluster {name} ({leader['InstanceId']}) has no address yet")
        return str(address)

    def worker_nodes(self, cluster: str) -> list[WorkerNode]:
        """The cluster's workers, each with the node type it was started as (its instance type if not autoscaled)."""
        return AwsWorkers(self.aws, cluster).nodes()

    def add_nodes(self, cluster: str, node_type: NodeType, count: int) -> list[WorkerNode]:
        """Start workers like the cluster's newest one, tagged as its workers; spot at the bid; fewer if short."""
        try:
            return AwsWorkers(self.aws, cluster).add(node_type, count)
        except ProvisionError:
            raise
        except Exception as e:
            raise ProvisionError(
                f"adding {count} {node_type} worker(s) to cluster {cluster} failed: {describe(e)}"
            ) from None

    def terminate_nodes(self, cluster: str, names: Sequence[str]) -> None:
        """Terminate those of the named instances that are this cluster's workers; any other id is left alone."""
        AwsWorkers(self.aws, cluster).terminate(names)
