"""The names of a cluster's AWS resources, and the tag filters that find them."""

from __future__ import annotations

from typing import Any

CLUSTER_TAG = "clusterName"
NODE_TYPE_TAG = "ToilNodeType"
_BUCKET_SUFFIX = "--internal"  # Toil's: NAME--internal


def role_name(cluster: str) -> str:
    """The cluster's IAM role (and instance profile) name."""
    return f"toil-cluster--{cluster}"


def bucket_name(cluster: str) -> str:
    """The cluster's private bucket (user data too large for EC2), named as Toil names it."""
    return cluster[: 63 - len(_BUCKET_SUFFIX)] + _BUCKET_SUFFIX


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """{K: V} -> [{'Key': K, 'Value': V}] as EC2, IAM and S3 take tags."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """[{'Key': K, 'Value': V}] -> {K: V}."""
    return {t["Key"]: t.get("Value", "") for t in tags or []}


def cluster_filter(cluster: str) -> list[dict[str, Any]]:
    """The EC2 filter for this cluster's tag."""
    return [{"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster]}]


def is_ours(tags: list[dict[str, str]] | None, cluster: str) -> bool:
    """Whether a resource carries this cluster's tag."""
    return tag_dict(tags).get(CLUSTER_TAG) == cluster
