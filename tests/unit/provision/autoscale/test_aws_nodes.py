"""The AWS provisioner lists and removes a cluster's workers (against moto, in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

moto = pytest.importorskip("moto")

from toil.provision.aws.provisioner import AWSProvisioner  # noqa: E402
from toil.provision.aws.workers import AUTOSCALE_TYPE_TAG  # noqa: E402
from toil.provision.spec import NodeType, ProvisionError  # noqa: E402


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with moto.mock_aws():
        yield boto3.client("ec2", region_name="us-west-2")


def _start(ec2: Any, cluster: str, role: str, **tags: str) -> str:
    all_tags = {"clusterName": cluster, "ToilNodeType": role, **tags}
    made = ec2.run_instances(
        ImageId="ami-12c6146b",
        InstanceType="c5.4xlarge",
        MinCount=1,
        MaxCount=1,
        UserData="#cloud-config\n# join the cluster",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}],
    )
    return str(made["Instances"][0]["InstanceId"])


def test_workers_are_listed_with_their_node_type_and_only_the_clusters_workers_are_terminated(ec2: Any) -> None:
    leader = _start(ec2, "c1", "leader")
    static = _start(ec2, "c1", "worker")
    scaled = _start(ec2, "c1", "worker", **{AUTOSCALE_TYPE_TAG: "c5.4xlarge:0.4"})
    other = _start(ec2, "c2", "worker")
    provisioner = AWSProvisioner("us-west-2a")
    found = {n.name: n.node_type for n in provisioner.worker_nodes("c1")}
    assert found == {static: "c5.4xlarge", scaled: "c5.4xlarge:0.4"}
    provisioner.terminate_nodes("c1", [scaled, leader, other])
    assert [n.name for n in provisioner.worker_nodes("c1")] == [static]
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances(InstanceIds=[leader, other])["Reservations"]
        for i in r["Instances"]
    }
    assert states == {leader: "running", other: "running"}


def test_added_workers_copy_the_newest_worker_and_spot_ones_carry_the_bid(ec2: Any) -> None:
    provisioner = AWSProvisioner("us-west-2a")
    with pytest.raises(ProvisionError, match="no worker to model new ones on"):
        provisioner.add_nodes("c1", NodeType(("t2.large",)), 1)
    _start(ec2, "c1", "leader")
    model = _start(ec2, "c1", "worker", Owner="me")
    spot = provisioner.add_nodes("c1", NodeType(("t2.large",), 0.2), 2)
    on_demand = provisioner.add_nodes("c1", NodeType(("t2.xlarge", "t2.large")), 1)
    assert [n.node_type for n in spot] == ["t2.large:0.2"] * 2 and all(n.preemptible for n in spot)
    assert [n.node_type for n in on_demand] == ["t2.xlarge/t2.large"]
    listed = {n.name: (n.node_type, n.preemptible) for n in provisioner.worker_nodes("c1")}
    assert listed[spot[0].name] == ("t2.large:0.2", True)
    assert listed[on_demand[0].name] == ("t2.xlarge/t2.large", False)
    assert listed[model] == ("c5.4xlarge", False)
    (made,) = ec2.describe_instances(InstanceIds=[on_demand[0].name])["Reservations"][0]["Instances"]
    tags = {t["Key"]: t["Value"] for t in made["Tags"]}
    assert tags["clusterName"] == "c1" and tags["ToilNodeType"] == "worker" and tags["Owner"] == "me"
    data = ec2.describe_instance_attribute(InstanceId=made["InstanceId"], Attribute="userData")["UserData"]["Value"]
    assert b"join the cluster" in __import__("base64").b64decode(data)
    provisioner.terminate_nodes("c1", [n.name for n in spot + on_demand])
    assert [n.name for n in provisioner.worker_nodes("c1")] == [model]
