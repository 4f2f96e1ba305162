"""The cluster's private bucket: made only when a node's user data is over EC2's limit, removed by destroy."""

from __future__ import annotations

import botocore.exceptions

from toil.provision.aws.clients import AwsClients, error_code
from toil.provision.aws.names import bucket_name, is_ours, tag_list
from toil.provision.spec import ClusterSpec


def ensure_bucket(aws: AwsClients, spec: ClusterSpec) -> str:
    """Create NAME--internal (private, tagged) unless it exists; its name."""
    name = bucket_name(spec.name)
    try:
        aws.s3.head_bucket(Bucket=name)
        return name
    except botocore.exceptions.ClientError as e:
        if error_code(e) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    args: dict[str, object] = {"Bucket": name}
    if aws.region != "us-east-1":  # us-east-1 refuses its own name as a location constraint
        args["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    aws.s3.create_bucket(**args)
    aws.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(spec.base_tags())})
    block = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    aws.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    return name


def bucket_is_ours(aws: AwsClients, cluster: str) -> bool:
    """Whether NAME--internal exists and carries this cluster's tag."""
    try:
        tags = aws.s3.get_bucket_tagging(Bucket=bucket_name(cluster))["TagSet"]
    except botocore.exceptions.ClientError as e:
        if error_code(e) in ("404", "NoSuchBucket", "NoSuchTagSet", "NotFound"):
            return False
        raise
    return is_ours(tags, cluster)


def delete_bucket(aws: AwsClients, cluster: str) -> bool:
    """Empty (every version) and delete the cluster's bucket if it is this cluster's; whether it did."""
    if not bucket_is_ours(aws, cluster):
        return False
    name = bucket_name(cluster)
    paginator = aws.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=name):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            aws.s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    aws.s3.delete_bucket(Bucket=name)
    return True
