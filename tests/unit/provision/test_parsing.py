"""launch-cluster's options turned into a ClusterSpec: node types, worker counts, tags, owner, zone."""

from __future__ import annotations

import pytest

from toil.provision.parsing import (
    build_spec,
    parse_node_types,
    parse_tags,
    parse_worker_counts,
    resolve_owner,
    resolve_zone,
    user_tags,
    worker_groups,
)
from toil.provision.spec import NodeType, ProvisionError


def test_node_types_as_toil_documents_them() -> None:
    types = parse_node_types("c5.4xlarge/c5a.4xlarge:0.42,t2.large")
    assert types == [NodeType(("c5.4xlarge", "c5a.4xlarge"), 0.42), NodeType(("t2.large",), None)]
    assert types[0].preemptible and not types[1].preemptible
    assert str(types[0]) == "c5.4xlarge/c5a.4xlarge:0.42"


@pytest.mark.parametrize("text", ["t2.large:", "t2.large:abc", "t2.large:-1", "t2.large:0", "T2_LARGE", "t2.large/"])
def test_bad_node_types_are_one_line_errors(text: str) -> None:
    with pytest.raises(ProvisionError) as e:
        parse_node_types(text)
    assert "--nodeTypes" in str(e.value) and "\n" not in str(e.value)


def test_worker_counts_and_ranges() -> None:
    assert parse_worker_counts("1,4") == [(1, 1), (4, 4)]
    assert parse_worker_counts("1-4,0-2,5") == [(1, 4), (0, 2), (5, 5)]
    assert parse_worker_counts("4-1") == [(1, 4)]  # Toil flips a reversed range


@pytest.mark.parametrize("text", ["a", "1-2-3", "-1", "1,,2", "1.5"])
def test_bad_worker_counts(text: str) -> None:
    with pytest.raises(ProvisionError, match="--workers"):
        parse_worker_counts(text)


def test_node_types_and_workers_go_together() -> None:
    with pytest.raises(ProvisionError, match="needs"):
        worker_groups("t2.large", None)
    with pytest.raises(ProvisionError, match="needs"):
        worker_groups(None, "1")
    with pytest.raises(ProvisionError, match="2 node type"):
        worker_groups("t2.large,m5.large", "1")
    groups = worker_groups("t2.large,m5.large:0.1", "2,1-3")
    assert [(g.min_count, g.max_count, g.fixed) for g in groups] == [(2, 2, True), (1, 3, False)]


def test_tags_from_options_and_environment() -> None:
    assert parse_tags(["a=b", "c=d=e", "empty="]) == {"a": "b", "c": "d=e", "empty": ""}
    with pytest.raises(ProvisionError, match="NAME=VALUE"):
        parse_tags(["novalue"])
    env = {"TOIL_AWS_TAGS": '{"team": "x", "a": "env"}'}
    assert user_tags(["a=cli"], env) == {"team": "x", "a": "cli"}


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"a": 1}'])
def test_bad_toil_aws_tags(raw: str) -> None:
    with pytest.raises(ProvisionError, match="TOIL_AWS_TAGS"):
        user_tags([], {"TOIL_AWS_TAGS": raw})


def test_owner_order_is_toils() -> None:
    assert resolve_owner("me", "key", {"TOIL_OWNER_TAG": "env"}) == "me"
    assert resolve_owner(None, "key", {"TOIL_OWNER_TAG": "env"}) == "env"
    assert resolve_owner(None, "key", {}) == "key"


def test_zone_from_option_or_environment() -> None:
    assert resolve_zone("us-west-2a", "aws", {}) == "us-west-2a"
    assert resolve_zone(None, "aws", {"TOIL_AWS_ZONE": "eu-west-1b"}) == "eu-west-1b"
    with pytest.raises(ProvisionError, match="TOIL_AWS_ZONE"):
        resolve_zone(None, "aws", {})
    with pytest.raises(ProvisionError, match="availability zone"):
        resolve_zone("us-west-2", "aws", {})


def test_tags_on_every_resource_as_toil_sets_them() -> None:
    spec = build_spec(
        "my-cluster",
        "us-west-2a",
        "mykey",
        "t2.medium",
        tags=["team=x", "clusterName=other"],
        environ={"TOIL_AWS_TAGS": '{"cost": "c1"}'},
    )
    tags = spec.base_tags()
    assert tags["Name"] == "my-cluster" and tags["Owner"] == "mykey" and tags["clusterName"] == "my-cluster"
    assert tags["team"] == "x" and tags["cost"] == "c1"
    assert tags["kubernetes.io/cluster/my-cluster"] == ""
    assert spec.node_tags("leader")["ToilNodeType"] == "leader"
    assert spec.node_tags("worker")["ToilNodeType"] == "worker"
    assert spec.region == "us-west-2"


def test_spec_defaults_and_checks() -> None:
    spec = build_spec("c", "us-west-2a", "k", "t2.medium", environ={"TOIL_AWS_AMI": "ami-1"})
    assert (spec.cluster_type, spec.leader_storage_gb, spec.node_storage_gb, spec.image) == (
        "kubernetes",
        50,
        50,
        "ami-1",
    )
    for bad in [dict(name="Bad_Name"), dict(cluster_type="mesos"), dict(leader_storage=0), dict(leader="bad")]:
        args = {"name": "c", "leader": "t2.medium", **bad}
        with pytest.raises(ProvisionError):
            build_spec(str(args.pop("name")), "us-west-2a", "k", str(args.pop("leader")), environ={}, **args)  # type: ignore[arg-type]


def test_tags_aws_would_refuse() -> None:
    for bad in (["aws:x=1"], ["k" * 129 + "=v"], ["k=" + "v" * 257], [f"t{i}=v" for i in range(46)]):
        with pytest.raises(ProvisionError, match="tag"):
            build_spec("c", "us-west-2a", "k", "t2.medium", tags=bad, environ={})
    assert (
        len(build_spec("c", "us-west-2a", "k", "t2.medium", tags=[f"t{i}=v" for i in range(45)], environ={}).tags) == 45
    )
