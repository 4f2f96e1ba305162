"""The launch-cluster options as Toil spells them, turned into a ClusterSpec (each mistake one line)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from toil.provision.spec import CLUSTER_TYPES, ClusterSpec, NodeType, ProvisionError, WorkerGroup

# lowercase, digits and '-': the cluster name also names a security group, an IAM role and an S3 bucket
_CLUSTER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_INSTANCE_TYPE = re.compile(r"[a-z0-9]+[a-z0-9-]*\.[a-z0-9-]+")


def check_cluster_name(name: str) -> str:
    """The name, if AWS takes it for a bucket and a role (Toil: lowercase, no '_'); else ProvisionError."""
    if not _CLUSTER_NAME.fullmatch(name):
        raise ProvisionError(
            f"bad cluster name {name!r}: use 1-40 lowercase letters, digits and '-', starting and ending "
            "with a letter or digit"
        )
    return name


def parse_node_types(text: str | None) -> list[NodeType]:
    """'c5.4xlarge/c5a.4xlarge:0.42,t2.large' -> node types ('/' interchangeable, ':BID' spot)."""
    if not text:
        return []
    types = []
    for part in text.split(","):
        names, _, bid = part.strip().partition(":")
        instance_types = tuple(t.strip() for t in names.split("/"))
        for t in instance_types:
            if not _INSTANCE_TYPE.fullmatch(t):
                raise ProvisionError(f"bad instance type {t!r} in --nodeTypes {text!r}")
        types.append(NodeType(instance_types, _parse_bid(bid, text) if _ else None))
    return types


def _parse_bid(bid: str, text: str) -> float:
    try:
        value = float(bid)
    except ValueError:
        raise ProvisionError(f"bad spot bid {bid!r} in --nodeTypes {text!r}: give dollars per hour") from None
    if not value > 0:
        raise ProvisionError(f"bad spot bid {bid!r} in --nodeTypes {text!r}: it must be above 0")
    return value


def parse_worker_counts(text: str | None) -> list[tuple[int, int]]:
    """'1,0-4' -> [(1, 1), (0, 4)]: (minimum, maximum) per node type; a reversed range is flipped as Toil does."""
    if not text:
        return []
    counts = []
    for spec in text.split(","):
        parts = spec.strip().split("-")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            raise ProvisionError(f"bad worker count {spec!r} in --workers {text!r}: give N or MIN-MAX")
        low, high = int(parts[0]), int(parts[-1])
        counts.append((min(low, high), max(low, high)))
    return counts


def worker_groups(node_types: str | None, workers: str | None) -> tuple[WorkerGroup, ...]:
    """Pair --nodeTypes with --workers, which must come together and be of equal length."""
    types, counts = parse_node_types(node_types), parse_worker_counts(workers)
    if bool(types) != bool(counts):
        raise ProvisionError("--nodeTypes needs --workers, and --workers needs --nodeTypes")
    if len(types) != len(counts):
        raise ProvisionError(f"--nodeTypes names {len(types)} node type(s) but --workers gives {len(counts)} count(s)")
    return tuple(WorkerGroup(t, low, high) for t, (low, high) in zip(types, counts))


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """-t K=V ... -> {K: V}; a pair without '=' is an error."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ProvisionError(f"bad tag {pair!r}: give -t NAME=VALUE")
        tags[key] = value
    return tags


def env_tags(environ: Mapping[str, str]) -> dict[str, str]:
    """Tags from TOIL_AWS_TAGS (a JSON object of strings); TOIL_OWNER_TAG is read by resolve_owner."""
    tags: dict[str, str] = {}
    raw = environ.get("TOIL_AWS_TAGS")
    if raw:
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError:
            loaded = None
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ProvisionError('TOIL_AWS_TAGS must be a JSON object of strings: {"key": "value", ...}')
        tags.update(loaded)
    return tags


def user_tags(pairs: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment's tags, then -t tags over them (Toil takes -t alone if given; both is kinder)."""
    return {**env_tags(environ), **parse_tags(pairs)}


MAX_TAGS = 50  # per EC2 resource, ours included (Name, Owner, clusterName, ToilNodeType, kubernetes.io/cluster/)


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags AWS accepts (key up to 128 characters, value up to 256, no 'aws:' prefix), with room for ours."""
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
            raise ProvisionError(
                f"bad tag {key!r}: keys are 1-128 characters not starting with 'aws:', values up to 256"
            )
    if len(tags) > MAX_TAGS - 5:
        raise ProvisionError(f"too many tags ({len(tags)}): AWS takes {MAX_TAGS} per resource, and the cluster uses 5")
    return tags


def resolve_owner(owner: str | None, key_pair: str, environ: Mapping[str, str]) -> str:
    """--owner, else TOIL_OWNER_TAG, else the key pair name (Toil's order)."""
    return owner or environ.get("TOIL_OWNER_TAG") or key_pair or "toil"


def resolve_zone(zone: str | None, provisioner: str, environ: Mapping[str, str] = os.environ) -> str:
    """-z, else TOIL_<PROVISIONER>_ZONE; ProvisionError if neither."""
    variable = f"TOIL_{provisioner.upper()}_ZONE"
    found = zone or environ.get(variable)
    if not found:
        raise ProvisionError(f"no zone: give -z/--zone or set {variable}")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", found):
        raise ProvisionError(f"bad zone {found!r}: give an availability zone such as us-west-2a")
    return found


def check_cluster_type(cluster_type: str) -> str:
    """kubernetes (the default here) or mesos; mesos is refused: this project has no Mesos nodes to start."""
    if cluster_type not in CLUSTER_TYPES:
        raise ProvisionError(f"bad --clusterType {cluster_type!r}: choose kubernetes or mesos")
    if cluster_type == "mesos":
        raise ProvisionError("--clusterType mesos is not supported here (no Mesos master to start): use kubernetes")
    return cluster_type


def check_storage(option: str, gigabytes: int) -> int:
    """A root volume size AWS accepts (1 GiB to 16 TiB)."""
    if not 1 <= gigabytes <= 16384:
        raise ProvisionError(f"bad {option} {gigabytes}: give a size in GB between 1 and 16384")
    return gigabytes


def build_spec(
    name: str,
    zone: str,
    key_pair: str,
    leader_node_type: str,
    *,
    cluster_type: str = "kubernetes",
    node_types: str | None = None,
    workers: str | None = None,
    leader_storage: int = 50,
    node_storage: int = 50,
    owner: str | None = None,
    tags: list[str] | None = None,
    subnet: str | None = None,
    profile_arn: str | None = None,
    extra_security_groups: list[str] | None = None,
    appliance: str = "",
    leader_wait: float = 1200.0,
    environ: Mapping[str, str] = os.environ,
) -> ClusterSpec:
    """A checked ClusterSpec from launch-cluster's options and the environment."""
    if not _INSTANCE_TYPE.fullmatch(leader_node_type):
        raise ProvisionError(f"bad --leaderNodeType {leader_node_type!r}")
    if not 0 <= leader_wait <= 24 * 3600:
        raise ProvisionError(f"bad --leaderWait {leader_wait:g}: give seconds between 0 (do not wait) and 86400")
    return ClusterSpec(
        name=check_cluster_name(name),
        zone=zone,
        key_pair=key_pair,
        leader_node_type=leader_node_type,
        cluster_type=check_cluster_type(cluster_type),
        workers=worker_groups(node_types, workers),
        leader_storage_gb=check_storage("--leaderStorage", leader_storage),
        node_storage_gb=check_storage("--nodeStorage", node_storage),
        owner=resolve_owner(owner, key_pair, environ),
        tags=check_tags(user_tags(tags or [], environ)),
        subnet=subnet,
        profile_arn=profile_arn,
        extra_security_groups=tuple(extra_security_groups or ()),
        appliance=appliance,
        image=environ.get("TOIL_AWS_AMI") or None,
        leader_wait=leader_wait,
    )
