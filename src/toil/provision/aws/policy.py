"""The cluster's IAM role: who may assume it, and the least the leader's autoscaler and the jobs need."""

from __future__ import annotations

import json
from typing import Any

# Toil grants iam:*, ec2:*, s3:* and sdb:* on "*". A node here needs only:
#  - to read the EC2 state the autoscaler plans with (Describe* takes no resource-level limit) and the
#    on-demand prices it weighs node types by (pricing:GetProducts, read-only public data),
#  - to start and tag instances and spot requests carrying this cluster's clusterName tag, and to stop only those,
#  - to pass this cluster's own role (and no other) to the instances it starts,
#  - the cluster's private bucket and the aws: job stores' buckets (NAME--toil), nothing else of S3,
#  - for Kubernetes, to read auto-scaling groups and resize only this cluster's.
DESCRIBE_ACTIONS = [
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeImages",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "pricing:GetProducts",
]
START_ACTIONS = ["ec2:RunInstances", "ec2:RequestSpotInstances", "ec2:CreateTags"]
# on the cluster's own (tagged) instances and spot requests: stop them; give a fulfilled spot instance the
# metadata options (IMDSv2, two hops) a spot request cannot carry
OWN_ACTIONS = ["ec2:TerminateInstances", "ec2:CancelSpotInstanceRequests", "ec2:ModifyInstanceMetadataOptions"]
JOB_STORE_ACTIONS = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
AUTOSCALING_READ = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeTags",
]
AUTOSCALING_WRITE = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]


def assume_role_policy() -> str:
    """Only EC2 instances may assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def node_policy(cluster: str, role_arn: str, bucket: str, cluster_type: str) -> dict[str, Any]:
    """The one inline policy of the cluster's role."""
    own = {"StringEquals": {"aws:RequestTag/clusterName": cluster}}
    tagged = {"StringEquals": {"ec2:ResourceTag/clusterName": cluster}}
    statements: list[dict[str, Any]] = [
        _allow("Describe", DESCRIBE_ACTIONS, "*"),
        # instances, volumes and spot requests must be created carrying this cluster's tag
        _allow("StartOwnTagged", START_ACTIONS, "*", own),
        # RunInstances also names the image, subnet, security group and key pair, which carry no request tag
        _allow("StartUsing", ["ec2:RunInstances"], _run_instances_resources()),
        _allow("ActOnOwn", OWN_ACTIONS, "*", tagged),
        _allow("PassOwnRole", ["iam:PassRole"], role_arn),
        _allow("JobStores", JOB_STORE_ACTIONS, _bucket_arns(bucket)),
    ]
    if cluster_type == "kubernetes":
        statements.append(_allow("ReadScalingGroups", AUTOSCALING_READ, "*"))
        scaling_tag = {"StringEquals": {"autoscaling:ResourceTag/clusterName": cluster}}
        statements.append(_allow("ResizeOwnScalingGroups", AUTOSCALING_WRITE, "*", scaling_tag))
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(
    sid: str, actions: list[str], resource: str | list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _run_instances_resources() -> list[str]:
    kinds = ["image", "subnet", "security-group", "key-pair", "network-interface", "launch-template"]
    return [f"arn:aws:ec2:*:*:{kind}/*" for kind in kinds] + ["arn:aws:ec2:*::image/*"]


def _bucket_arns(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*", "arn:aws:s3:::*--toil", "arn:aws:s3:::*--toil/*"]


def granted_actions(policy: dict[str, Any]) -> set[str]:
    """Every action a policy document allows (for tests and the README's list)."""
    return {action for s in policy["Statement"] for action in s["Action"]}
