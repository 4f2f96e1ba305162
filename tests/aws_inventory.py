"""Every AWS resource a cluster can leave behind, found by its tags and by its name, for tests and bench.

``inventory(cluster)`` lists, straight from the API (not through toil.provision), the cluster's live
instances (also untagged ones in its security group or started by its spot requests), open spot requests,
security groups, IAM roles and instance profiles, launch templates, auto-scaling groups, volumes and
buckets: anything tagged clusterName=CLUSTER or whose name contains CLUSTER as a '-'-separated part.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import boto3

KINDS = (
    "instance",
    "spot-request",
    "security-group",
    "role",
    "instance-profile",
    "launch-template",
    "auto-scaling-group",
    "volume",
    "bucket",
)


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _mine(cluster: str, name: str = "", tags: list[dict[str, str]] | None = None) -> bool:
    named = re.search(rf"(^|[-_/]){re.escape(cluster)}($|[-_/])", name) is not None
    return _tags(tags).get("clusterName") == cluster or named


def inventory(cluster: str, region: str = "us-west-2") -> dict[str, list[str]]:
    """kind -> ids or names of the cluster's resources that still exist."""
    ec2, iam, s3, asg = _clients(region, os.environ.get("AWS_ENDPOINT_URL", ""))
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    live = {"Name": "instance-state-name", "Values": ["pending", "running", "shutting-down", "stopping", "stopped"]}
    # filtered by the server (the list of all instances only grows): by tag, and by the cluster's group,
    # which also finds instances whose tags were never written (a spot request's, before they are tagged)
    for key in ("tag:clusterName", "tag:Name", "instance.group-name"):
        for r in ec2.describe_instances(Filters=[{"Name": key, "Values": [cluster]}, live])["Reservations"]:
            found["instance"] += [i["InstanceId"] for i in r["Instances"] if i["InstanceId"] not in found["instance"]]
    started = []
    for q in ec2.describe_spot_instance_requests()["SpotInstanceRequests"]:
        if _mine(cluster, tags=q.get("Tags")):
            started += [q["InstanceId"]] if q.get("InstanceId") else []
            if q["State"] in ("open", "active"):
                found["spot-request"].append(q["SpotInstanceRequestId"])
    if started:  # the cluster's spot requests' instances, tagged or not
        for r in ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": started}, live])["Reservations"]:
            found["instance"] += [i["InstanceId"] for i in r["Instances"] if i["InstanceId"] not in found["instance"]]
    for g in ec2.describe_security_groups()["SecurityGroups"]:
        if _mine(cluster, g["GroupName"], g.get("Tags")):
            found["security-group"].append(g["GroupId"])
    found["role"] = [
        r["RoleName"] for r in _all(iam, "list_roles", "Roles") if _mine(cluster, r["RoleName"], _role_tags(iam, r))
    ]
    found["instance-profile"] = [
        p["InstanceProfileName"]
        for p in _all(iam, "list_instance_profiles", "InstanceProfiles")
        if _mine(cluster, p["InstanceProfileName"], p.get("Tags"))
    ]
    found["launch-template"] = [
        t["LaunchTemplateId"]
        for t in ec2.describe_launch_templates()["LaunchTemplates"]
        if _mine(cluster, t["LaunchTemplateName"], t.get("Tags"))
    ]
    found["auto-scaling-group"] = [
        g["AutoScalingGroupName"]
        for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]
        if _mine(
            cluster, g["AutoScalingGroupName"], [{"Key": t["Key"], "Value": t["Value"]} for t in g.get("Tags", [])]
        )
    ]
    found["volume"] = [v["VolumeId"] for v in ec2.describe_volumes()["Volumes"] if _mine(cluster, tags=v.get("Tags"))]
    found["bucket"] = [b["Name"] for b in s3.list_buckets()["Buckets"] if _mine(cluster, b["Name"])]
    return found


@functools.lru_cache(maxsize=8)
def _clients(region: str, endpoint: str) -> tuple[Any, Any, Any, Any]:
    """ec2, iam, s3 and autoscaling clients, made once per endpoint (making one takes tenths of a second)."""
    session = boto3.session.Session(region_name=region)
    return tuple(session.client(n) for n in ("ec2", "iam", "s3", "autoscaling"))  # type: ignore[return-value]


def _all(client: Any, method: str, key: str) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(method).paginate() for item in page[key]]


def _role_tags(iam: Any, role: dict[str, Any]) -> list[dict[str, str]]:
    return list(role.get("Tags") or iam.list_role_tags(RoleName=role["RoleName"])["Tags"])


def leftovers(cluster: str, region: str = "us-west-2") -> dict[str, list[str]]:
    """Only the kinds that still have something of the cluster."""
    return {k: v for k, v in inventory(cluster, region).items() if v}
