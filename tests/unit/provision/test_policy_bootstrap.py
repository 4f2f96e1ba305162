"""The cluster role's policy (least privilege), the node user data, the registry and the CLI's errors."""

from __future__ import annotations

import json

import pytest
import yaml

from toil.provision import provisioner
from toil.provision.aws.names import bucket_name, role_name
from toil.provision.aws.policy import assume_role_policy, granted_actions, node_policy
from toil.provision.bootstrap import (
    CA_CERT_HASH_FILE,
    JOIN_TOKEN_TTL,
    NodeBootstrap,
    include_user_data,
    new_join_token,
    user_data,
)
from toil.provision.cli import destroy_main, launch_main
from toil.provision.parsing import build_spec
from toil.provision.spec import ProvisionError

ROLE_ARN = "arn:aws:iam::123456789012:role/toil-cluster--c1"


def test_policy_grants_no_whole_service() -> None:
    policy = node_policy("c1", ROLE_ARN, "c1--internal", "kubernetes")
    actions = granted_actions(policy)
    assert not [a for a in actions if a.endswith(":*") or a == "*"]
    assert not [a for a in actions if a.startswith(("iam:Create", "iam:Put", "iam:Attach", "iam:Delete"))]
    assert "ec2:RunInstances" in actions and "autoscaling:SetDesiredCapacity" in actions
    assert {"ec2:DescribeSpotPriceHistory", "pricing:GetProducts"} <= actions  # the autoscaler's live prices
    assert "autoscaling:SetDesiredCapacity" not in granted_actions(node_policy("c1", ROLE_ARN, "b", "mesos"))


def _statement(policy: dict[str, object], sid: str) -> dict[str, object]:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)  # type: ignore[attr-defined, index]


def test_policy_limits_resources_to_the_cluster() -> None:
    policy = node_policy("c1", ROLE_ARN, "c1--internal", "kubernetes")
    assert _statement(policy, "PassOwnRole")["Resource"] == ROLE_ARN
    own = _statement(policy, "ActOnOwn")
    assert own["Condition"] == {"StringEquals": {"ec2:ResourceTag/clusterName": "c1"}}
    assert "ec2:TerminateInstances" in own["Action"] and "ec2:ModifyInstanceMetadataOptions" in own["Action"]
    assert _statement(policy, "StartOwnTagged")["Condition"] == {"StringEquals": {"aws:RequestTag/clusterName": "c1"}}
    buckets = _statement(policy, "JobStores")["Resource"]
    assert "arn:aws:s3:::c1--internal/*" in buckets and all("--internal" in b or "--toil" in b for b in buckets)  # type: ignore[union-attr]
    trust = json.loads(assume_role_policy())["Statement"][0]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"


def test_names() -> None:
    assert role_name("c1") == "toil-cluster--c1" and len(role_name("a" * 40)) <= 64
    assert bucket_name("c1") == "c1--internal" and len(bucket_name("a" * 63)) == 63


def test_join_token_has_kubeadms_form() -> None:
    token = new_join_token()
    assert len(token) == 23 and token[6] == "." and token.replace(".", "").isalnum() and token == token.lower()
    assert new_join_token() != token


def _cloud_config(role: str, ca_hash: str = "") -> dict[str, object]:
    spec = build_spec(
        "c1", "us-west-2a", "k", "t2.medium", node_types="t2.large:0.1", workers="1-3", appliance="img:1", environ={}
    )
    leader_ip = "10.0.0.5" if role == "worker" else ""
    data = user_data(NodeBootstrap(spec, role, "abcdef.0123456789abcdef", leader_ip, ca_hash))
    assert data.startswith("#cloud-config\n")
    loaded = yaml.safe_load(data)
    assert isinstance(loaded, dict)
    return loaded


def test_default_user_is_core_as_on_toils_nodes() -> None:
    config = _cloud_config("leader")
    assert config["system_info"] == {  # type: ignore[comparison-overlap]
        "default_user": {"name": "core", "groups": ["docker"], "sudo": ["ALL=(ALL) NOPASSWD:ALL"], "shell": "/bin/bash"}
    }


def _files(config: dict[str, object]) -> dict[str, str]:
    return {f["path"]: f["content"] for f in config["write_files"]}  # type: ignore[attr-defined]


def test_leader_user_data_inits_kubernetes_and_starts_the_appliance() -> None:
    files = _files(_cloud_config("leader"))
    script = files["/usr/local/sbin/toil-bootstrap"]
    assert f"kubeadm init --token abcdef.0123456789abcdef --token-ttl {JOIN_TOKEN_TTL}" in script
    assert "docker run -d --name toil_leader" in script and '"$TOIL_APPLIANCE_SELF"' in script
    assert "command -v kubeadm" in script and "apply -f https://github.com/flannel-io/" in script
    env = files["/etc/toil/cluster.env"]
    assert "TOIL_APPLIANCE_SELF=img:1" in env and "TOIL_CLUSTER_NODE_TYPES=t2.large:0.1" in env
    assert "TOIL_CLUSTER_MIN_NODES=1" in env and "TOIL_CLUSTER_MAX_NODES=3" in env


def test_worker_user_data_joins_the_leader() -> None:
    files = _files(_cloud_config("worker"))
    script = files["/usr/local/sbin/toil-bootstrap"]
    assert 'kubeadm join "$TOIL_LEADER_IP:6443" --token abcdef.0123456789abcdef' in script
    assert "TOIL_LEADER_IP=10.0.0.5" in files["/etc/toil/cluster.env"] and "toil_leader" not in script
    # the node agent, to cordon the node on a spot interruption notice
    assert "toil-node-agent --batchSystem kubernetes" in script and script.index("kubeadm join") < script.index(
        "toil_node_agent"
    )
    assert "--discovery-token-unsafe-skip-ca-verification" in script  # no CA hash known (--leaderWait 0)


def test_worker_pins_the_leaders_ca_when_known() -> None:
    script = _files(_cloud_config("worker", "ab" * 32))["/usr/local/sbin/toil-bootstrap"]
    assert f"--discovery-token-ca-cert-hash sha256:{'ab' * 32}" in script
    assert "unsafe" not in script


def test_leader_writes_the_ca_hash_for_the_workers() -> None:
    script = _files(_cloud_config("leader"))["/usr/local/sbin/toil-bootstrap"]
    init, hashed = script.index("kubeadm init"), script.index(f">{CA_CERT_HASH_FILE}.new")
    assert init < hashed < script.index("docker run -d --name toil_leader")  # ready before the appliance runs


def test_include_user_data_names_the_url() -> None:
    assert include_user_data("https://b/k?sig=1") == "#include\nhttps://b/k?sig=1\n"


def test_unknown_provisioner() -> None:
    with pytest.raises(ProvisionError, match="unknown provisioner 'gce'"):
        provisioner("gce", "us-west-2a")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["c1", "--leaderNodeType", "t2.medium", "--keyPairName", "k"], "no zone"),
        (["Bad_Name", "-z", "us-west-2a", "--leaderNodeType", "t2.medium", "--keyPairName", "k"], "bad cluster name"),
        (["c1", "-z", "us-west-2a", "--leaderNodeType", "t2.medium", "--keyPairName", "k", "-w", "1"], "needs"),
        (["c1", "-z", "us-west-2a", "--leaderNodeType", "t2.medium", "--keyPairName", "k", "-T", "mesos"], "mesos"),
    ],
)
def test_launch_cluster_bad_input_is_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOIL_AWS_ZONE", raising=False)
    assert launch_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("toil launch-cluster: error: ") and needle in err[-1]
    assert not [line for line in err if "Traceback" in line]


def test_destroy_cluster_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert destroy_main(["-z", "us-west-2a", "Bad_Name"]) == 1
    assert capsys.readouterr().err.strip() == (
        "toil destroy-cluster: error: bad cluster name 'Bad_Name': use 1-40 lowercase letters, digits and '-', "
        "starting and ending with a letter or digit"
    )


def test_missing_required_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        launch_main(["c1"])
    assert e.value.code == 2 and "--leaderNodeType" in capsys.readouterr().err
