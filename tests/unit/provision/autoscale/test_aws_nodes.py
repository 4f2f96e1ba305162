"""The AWS provisioner lists and removes a cluster's workers (against moto, in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

moto = pytest.importorskip("moto")

from toil.provision.aws.provisioner import AUTOSCALE_TYPE_TAG, AWSProvisioner  # noqa: E402


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
