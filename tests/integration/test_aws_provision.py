"""launch-cluster and destroy-cluster against moto_server over HTTP on 127.0.0.1 (only the endpoint differs).

The module runs its own moto_server (the one infra/s3-up.sh starts is shared with the job store tests, and
moto keeps every terminated instance, which every filtered describe_instances then scans). No test connects
to an address moto invents for its instances: a guard records every socket's peer.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.aws_inventory import leftovers as inventory_leftovers
from tests.faultproxy import ApiFaultProxy
from tests.objectstores import answers
from tests.pricing_standin import pricing_standin
from tests.provision_contract import Leftovers, MakeSpec, ProvisionerContract, fresh_name
from toil.provision.autoscale.prices import OfflinePrices
from toil.provision.aws.destroy import AwsDestroy, DestroyLimits
from toil.provision.aws.launch import LaunchLimits
from toil.provision.aws.provisioner import AWSProvisioner
from toil.provision.cli import destroy_main, launch_main, rsync_main, ssh_main
from toil.provision.parsing import build_spec
from toil.provision.spec import ClusterProvisioner, ClusterSpec, DestroyReport, ProvisionError

ZONE = "us-west-2a"


def _aws_env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """The only difference from production: where the AWS endpoint is."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "TOIL_AWS_TAGS",
        "TOIL_OWNER_TAG",
        "TOIL_AWS_AMI",
        "TOIL_AWS_ZONE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_port() -> Iterator[int]:
    """A moto_server of this module's own on a free port of 127.0.0.1."""
    binary = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(binary):
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no {binary}: pip install 'moto[server]'")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/moto-api/"):
            assert server.poll() is None and time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(autouse=True)
def moto(moto_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment pointing at moto_server, and a guard: no socket to anything but loopback."""
    _aws_env(monkeypatch, moto_port)
    _key_pairs("key", "mykey")
    peers: list[Any] = []
    connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        peers.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    # no machine stands behind moto's leaders here: a launch that waited would ssh to an invented address
    # (test_aws_standin_leader.py runs the wait, through its own ssh configuration, against a container)
    monkeypatch.setattr("toil.provision.aws.launch.wait_for_appliance", _no_ssh_to_moto)
    yield
    foreign = [p for p in peers if isinstance(p, tuple) and p[0] not in ("127.0.0.1", "::1", "localhost")]
    assert foreign == [], f"connected to {foreign}"


def _no_ssh_to_moto(address: str, limit: float) -> None:
    raise AssertionError(f"a launch waited for its leader over ssh to {address} (give leader_wait=0)")


def _key_pairs(*names: str) -> None:
    """The key pairs the tests name exist, as a user's would."""
    ec2 = boto3.client("ec2", region_name="us-west-2")
    have = {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    for name in set(names) - have:
        try:
            ec2.create_key_pair(KeyName=name)
        except botocore.exceptions.ClientError as e:  # made meanwhile by a test running beside this one
            if e.response["Error"]["Code"] != "InvalidKeyPair.Duplicate":
                raise


def leftovers(name: str) -> dict[str, list[str]]:
    return inventory_leftovers(name, "us-west-2")


def leader_only(name: str) -> ClusterSpec:
    return build_spec(name, ZONE, "key", "t2.medium", appliance="localhost/toil:test", leader_wait=0, environ={})


def small_spec(name: str) -> ClusterSpec:
    return build_spec(
        name,
        ZONE,
        "key",
        "t2.medium",
        node_types="t2.large,m5.large:0.05",
        workers="1,1",
        appliance="localhost/toil:test",
        leader_wait=0,
        environ={},
    )


class TestAwsProvisionerContract(ProvisionerContract):
    @pytest.fixture
    def provisioner(self) -> ClusterProvisioner:
        return AWSProvisioner(ZONE)

    @pytest.fixture
    def make_spec(self) -> MakeSpec:
        return small_spec

    @pytest.fixture
    def leftovers(self) -> Leftovers:
        return leftovers


def _ec2() -> Any:
    return boto3.client("ec2", region_name="us-west-2")


def _instances(name: str) -> list[dict[str, Any]]:
    filters = [{"Name": "tag:clusterName", "Values": [name]}, {"Name": "instance-state-name", "Values": ["running"]}]
    return [i for r in _ec2().describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _launch_argv(name: str, *extra: str) -> list[str]:
    return [
        name,
        "-z",
        ZONE,
        "--leaderNodeType",
        "t2.medium",
        "--keyPairName",
        "mykey",
        "--nodeTypes",
        "t2.large,m5.large/m5a.large:0.05",
        "-w",
        "2,2",
        "--leaderWait",
        "0",  # no machine behind moto's leader here (see test_aws_standin_leader.py)
        *extra,
    ]


def _check_tags(name: str) -> None:
    """Name, Owner (the key pair), clusterName, ToilNodeType, -t and TOIL_AWS_TAGS on every resource."""
    nodes = _instances(name)
    kinds = sorted(_tags(i["Tags"])["ToilNodeType"] for i in nodes)
    assert kinds == ["leader", "worker", "worker", "worker", "worker"]
    wanted = {"Name": name, "Owner": "mykey", "clusterName": name, "team": "genomics", "cost": "c-17"}
    volumes = _ec2().describe_volumes(Filters=[{"Name": "tag:clusterName", "Values": [name]}])["Volumes"]
    groups = _ec2().describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    iam = boto3.client("iam", region_name="us-west-2")
    role_tags = iam.list_role_tags(RoleName=f"toil-cluster--{name}")["Tags"]
    profile_tags = iam.get_instance_profile(InstanceProfileName=f"toil-cluster--{name}")["InstanceProfile"]["Tags"]
    for tags in (
        [i["Tags"] for i in nodes] + [v["Tags"] for v in volumes] + [groups[0]["Tags"], role_tags, profile_tags]
    ):
        assert wanted.items() <= _tags(tags).items()
    assert len(volumes) == 5


def _check_shape(name: str) -> None:
    """Root volumes of the asked sizes, spot requests at the bid, the group's rules, the least-privilege policy."""
    nodes = _instances(name)
    sizes: dict[str, set[int]] = {}
    for node in nodes:
        if node.get("InstanceLifecycle") == "spot":
            continue  # moto starts spot instances with its default volume, whatever the request asked
        volume_id = node["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
        size = _ec2().describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Size"]
        sizes.setdefault(_tags(node["Tags"])["ToilNodeType"], set()).add(size)
    assert sizes == {"leader": {80}, "worker": {60}}
    # every node, spot ones too: IMDSv2 with two hops, so containers reach the metadata (and the role)
    metadata = {(n["MetadataOptions"]["HttpTokens"], n["MetadataOptions"]["HttpPutResponseHopLimit"]) for n in nodes}
    assert metadata == {("required", 2)}, metadata
    spot = _ec2().describe_spot_instance_requests(Filters=[{"Name": "tag:clusterName", "Values": [name]}])
    assert [float(r["SpotPrice"]) for r in spot["SpotInstanceRequests"]] == [0.05, 0.05]
    group = _ec2().describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]
    rules = {(p["IpProtocol"], p.get("FromPort")) for p in group["IpPermissions"]}
    assert rules == {("tcp", 22), ("-1", None)}
    iam = boto3.client("iam", region_name="us-west-2")
    document = iam.get_role_policy(RoleName=f"toil-cluster--{name}", PolicyName="toil-cluster-node")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert not [a for s in document["Statement"] for a in s["Action"] if a.endswith(":*")]


def test_launch_leader_two_on_demand_two_spot_then_destroy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = fresh_name()
    monkeypatch.setenv("TOIL_AWS_TAGS", '{"cost": "c-17"}')
    argv = _launch_argv(name, "-t", "team=genomics", "--leaderStorage", "80", "--nodeStorage", "60")
    assert launch_main(argv) == 0
    assert re.search(rf"Launched cluster {name} in {ZONE}: leader i-\w+, 4 worker\(s\)", capsys.readouterr().out)
    _check_tags(name)
    _check_shape(name)
    assert destroy_main(["-z", ZONE, name]) == 0
    assert "removed 5 instance(s), 2 spot-request(s)" in capsys.readouterr().out
    assert leftovers(name) == {}
    assert destroy_main(["-z", ZONE, name]) == 0
    assert "nothing of it was left" in capsys.readouterr().out


@pytest.fixture
def proxy(moto_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiFaultProxy]:
    """A fault-injecting proxy in front of moto_server; the provisioner talks to it."""
    started = ApiFaultProxy(moto_port).start()
    _aws_env(monkeypatch, started.port)
    yield started
    started.stop()
    _aws_env(monkeypatch, moto_port)


def _launch_fails(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert launch_main(_launch_argv(name)) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "docker" not in line]
    assert len(err) == 1 and not [line for line in err if "Traceback" in line]
    return err[0]


def test_spot_request_denied_half_way_removes_what_was_made(
    proxy: ApiFaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    proxy.fail(
        "RequestSpotInstances", "UnauthorizedOperation", "You are not authorized to perform this operation.", 403
    )
    line = _launch_fails(name, capsys)
    assert line.startswith(f"toil launch-cluster: error: launch-cluster {name} failed while requesting 2 spot")
    assert "UnauthorizedOperation" in line and "removed the" in line
    assert "RunInstances" in proxy.seen  # the leader and the on-demand workers had been started
    assert leftovers(name) == {}


def test_denied_run_instances_after_the_role_removes_it(
    proxy: ApiFaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    proxy.fail("RunInstances", "UnauthorizedOperation", "You are not authorized to perform this operation.", 403)
    line = _launch_fails(name, capsys)
    assert "failed while starting the leader: UnauthorizedOperation" in line
    assert "CreateRole" in proxy.seen and leftovers(name) == {}


def test_bad_ami_is_one_line_and_makes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    monkeypatch.setenv("TOIL_AWS_AMI", "ami-0123456789abcdef0")
    line = _launch_fails(name, capsys)
    assert "finding the machine image" in line and "ami-0123456789abcdef0" in line
    assert leftovers(name) == {}


def test_capacity_error_falls_back_to_the_interchangeable_type(
    proxy: ApiFaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    proxy.fail(
        "RunInstances",
        "InsufficientInstanceCapacity",
        "We currently do not have sufficient capacity.",
        when="InstanceType=t2.large",
    )
    spec = build_spec(
        name,
        ZONE,
        "key",
        "t2.medium",
        node_types="t2.large/t3.large",
        workers="2",
        appliance="x",
        leader_wait=0,
        environ={},
    )
    AWSProvisioner(ZONE).launch(spec)
    types = sorted(i["InstanceType"] for i in _instances(name))
    assert types == ["t2.medium", "t3.large", "t3.large"]
    AWSProvisioner(ZONE).destroy(name)
    assert leftovers(name) == {}


def test_throttling_is_retried(proxy: ApiFaultProxy) -> None:
    name = fresh_name()
    for action in ("CreateRole", "RunInstances", "TerminateInstances"):
        proxy.fail(action, "RequestLimitExceeded", "Request limit exceeded.", 503, times=1)
    AWSProvisioner(ZONE).launch(leader_only(name))
    AWSProvisioner(ZONE).destroy(name)
    assert proxy.seen.count("CreateRole") == 2 and leftovers(name) == {}


def _spot_never_fulfilled(proxy: ApiFaultProxy, instance_type: str) -> None:
    """Spot requests for instance_type stay open (moto fulfils every one at once; AWS may not at a bid),
    and cancelling one starts nothing (the instance moto did start is terminated behind the proxy)."""
    blocked: set[str] = set()

    def children(body: bytes) -> Iterator[tuple[ElementTree.Element, dict[str, ElementTree.Element]]]:
        root = ElementTree.fromstring(body)
        for item in root.iter():
            fields = {child.tag.split("}")[-1]: child for child in item}
            if "spotInstanceRequestId" in fields:
                yield item, fields

    def note(body: bytes) -> bytes:
        if f"<instanceType>{instance_type}</instanceType>".encode() in body:
            blocked.update(f["spotInstanceRequestId"].text or "" for _, f in children(body))
        return body

    def still_open(body: bytes) -> bytes:
        root = ElementTree.fromstring(body)
        for item in root.iter():
            fields = {child.tag.split("}")[-1]: child for child in item}
            if "spotInstanceRequestId" in fields and fields["spotInstanceRequestId"].text in blocked:
                fields["state"].text = "open"
                if "instanceId" in fields:
                    item.remove(fields["instanceId"])
        return ElementTree.tostring(root)

    def start_nothing(body: bytes) -> bytes:
        cancelled = [i for _, f in children(body) if (i := f["spotInstanceRequestId"].text or "") in blocked]
        moto = boto3.client("ec2", region_name="us-west-2", endpoint_url=f"http://127.0.0.1:{proxy.upstream_port}")
        requests = moto.describe_spot_instance_requests(SpotInstanceRequestIds=cancelled)["SpotInstanceRequests"]
        started = [r["InstanceId"] for r in requests if r.get("InstanceId")]
        if started:
            moto.terminate_instances(InstanceIds=started)
        return body

    proxy.rewrite("RequestSpotInstances", note)
    proxy.rewrite("DescribeSpotInstanceRequests", still_open)
    proxy.rewrite("CancelSpotInstanceRequests", start_nothing)


def test_spot_request_never_fulfilled_gives_up_and_cleans_up(proxy: ApiFaultProxy) -> None:
    name = fresh_name()
    _spot_never_fulfilled(proxy, "m5.large")
    provisioner = AWSProvisioner(ZONE, launch_limits=LaunchLimits(spot=1.5), destroy_limits=DestroyLimits())
    expected = r"failed while waiting for 1 spot m5.large.*: 1 of 1 spot worker\(s\) \(m5.large\) not fulfilled"
    with pytest.raises(ProvisionError, match=expected):
        provisioner.launch(small_spec(name))
    assert leftovers(name) == {}


def test_spot_moves_to_the_next_interchangeable_type(proxy: ApiFaultProxy) -> None:
    name = fresh_name()
    _spot_never_fulfilled(proxy, "m5.large")
    spec = build_spec(
        name,
        ZONE,
        "key",
        "t2.medium",
        node_types="m5.large/m5a.large:0.05",
        workers="2",
        appliance="x",
        leader_wait=0,
        environ={},
    )
    AWSProvisioner(ZONE, launch_limits=LaunchLimits(spot=3)).launch(spec)
    workers = [i["InstanceType"] for i in _instances(name) if _tags(i["Tags"])["ToilNodeType"] == "worker"]
    assert workers == ["m5a.large", "m5a.large"]
    AWSProvisioner(ZONE).destroy(name)
    assert leftovers(name) == {}


def test_large_user_data_goes_through_the_clusters_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = fresh_name()
    tags = {f"tag-{i:02d}-" + "k" * 100: "v" * 250 for i in range(45)}  # ~16 KB of TOIL_AWS_TAGS in the env file
    spec = build_spec(
        name, ZONE, "key", "t2.medium", appliance="x", leader_wait=0, environ={"TOIL_AWS_TAGS": json.dumps(tags)}
    )
    AWSProvisioner(ZONE).launch(spec)
    leader = _instances(name)[0]
    data = _ec2().describe_instance_attribute(InstanceId=leader["InstanceId"], Attribute="userData")
    import base64

    text = base64.b64decode(data["UserData"]["Value"]).decode()
    assert text.startswith("#include\n") and f"/{name}--internal/user-data/leader-" in text
    assert leftovers(name)["bucket"] == [f"{name}--internal"]
    AWSProvisioner(ZONE).destroy(name)
    assert leftovers(name) == {}


def test_ssh_and_rsync_cluster_reach_the_leader_found_by_group_and_tag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    AWSProvisioner(ZONE).launch(leader_only(name))
    leader = next(i for i in _instances(name) if _tags(i["Tags"])["ToilNodeType"] == "leader")
    ran: list[list[str]] = []
    # moto's addresses must never be connected to: record the command instead of running ssh or rsync
    monkeypatch.setattr(subprocess, "call", lambda argv: ran.append(argv) or 0)
    assert ssh_main(["-z", ZONE, name, "ls", "/root"]) == 0
    assert rsync_main(["-z", ZONE, name, "sort.py", ":/root"]) == 0
    where = f"core@{leader['PublicIpAddress']}"
    assert ran[0][-7:] == [where, "docker", "exec", "-i", "toil_leader", "ls", "/root"]
    assert ran[1][-2:] == ["sort.py", f"{where}:/root"]
    _ec2().stop_instances(InstanceIds=[leader["InstanceId"]])
    assert ssh_main(["-z", ZONE, name]) == 1
    assert re.search(
        r"error: the leader of cluster \S+ \(i-\w+\) is (stopping|stopped), not running$",
        capsys.readouterr().err.strip(),
    )
    AWSProvisioner(ZONE).destroy(name)
    assert leftovers(name) == {}
    assert rsync_main(["-z", ZONE, name, "a", ":b"]) == 1 and len(ran) == 2
    assert (
        capsys.readouterr().err.strip().endswith(f"no cluster {name} in {ZONE}: no leader found in its security group")
    )


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--leaderNodeType", "t9.nonesuch"], "failed while checking the instance types and the key pair: unknown"),
        (["--keyPairName", "no-such-key"], "no key pair no-such-key in us-west-2: check --keyPairName"),
    ],
)
def test_unknown_type_or_key_pair_is_one_line_and_makes_nothing(
    extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    assert launch_main(_launch_argv(name, *extra)) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "docker" not in line]
    assert len(err) == 1 and needle in err[0]
    assert leftovers(name) == {}


def test_the_users_profile_groups_and_untagged_namesakes_are_left_alone() -> None:
    name, ec2, iam = fresh_name(), _ec2(), boto3.client("iam", region_name="us-west-2")
    profile = iam.create_instance_profile(InstanceProfileName=f"user-{name}")["InstanceProfile"]
    extra = ec2.create_security_group(GroupName=f"user-{name}", Description="the user's")["GroupId"]
    spec = build_spec(
        name,
        ZONE,
        "key",
        "t2.medium",
        profile_arn=profile["Arn"],
        extra_security_groups=[extra],
        appliance="x",
        leader_wait=0,
        environ={},
    )
    AWSProvisioner(ZONE).launch(spec)
    leader = _instances(name)[0]
    assert leader["IamInstanceProfile"]["Arn"] == profile["Arn"]
    assert extra in {g["GroupId"] for g in leader["SecurityGroups"]}
    assert "role" not in leftovers(name)  # no role of its own when given a profile
    AWSProvisioner(ZONE).destroy(name)
    assert leftovers(name) == {"instance-profile": [f"user-{name}"], "security-group": [extra]}  # found by name only
    # a group of the cluster's name without its tag (another tool's) blocks a launch and survives a destroy
    namesake = ec2.create_security_group(GroupName=name, Description="not ours")["GroupId"]
    with pytest.raises(ProvisionError, match="already exists"):
        AWSProvisioner(ZONE).launch(leader_only(name))
    assert AWSProvisioner(ZONE).destroy(name).count() == 0
    ec2.delete_security_group(GroupId=namesake)
    ec2.delete_security_group(GroupId=extra)
    iam.delete_instance_profile(InstanceProfileName=f"user-{name}")
    assert leftovers(name) == {}


def test_spot_workers_left_untagged_by_a_failure_are_still_removed(
    proxy: ApiFaultProxy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = fresh_name()
    # the spot instances exist, but the call that tags them as the cluster's is refused
    proxy.fail("CreateTags", "UnauthorizedOperation", "You are not authorized to perform this operation.", 403)
    before_cleanup: list[tuple[list[str], set[str]]] = []
    real_run = AwsDestroy.run

    def look_then_run(self: AwsDestroy) -> DestroyReport:
        tagged = {i["InstanceId"] for i in _instances(self.cluster)}
        before_cleanup.append((leftovers(self.cluster).get("instance", []), tagged))
        return real_run(self)

    monkeypatch.setattr(AwsDestroy, "run", look_then_run)
    line = _launch_fails(name, capsys)
    assert "failed while waiting for 2 spot m5.large" in line and "UnauthorizedOperation" in line
    made, tagged = before_cleanup[0]
    assert len(made) == 5 and len(set(made) - tagged) == 2  # the spot workers: found by the cluster's group only
    assert leftovers(name) == {}


def test_a_destroy_that_fails_half_way_is_one_line_and_a_second_run_finishes(
    proxy: ApiFaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_name()
    AWSProvisioner(ZONE).launch(leader_only(name))
    proxy.fail("DeleteRole", "AccessDenied", "User is not authorized to perform: iam:DeleteRole", 403, times=1)
    assert destroy_main(["-z", ZONE, name]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"toil destroy-cluster: error: destroy-cluster {name} did not finish: deleting the IAM role and instance "
        "profile: AccessDenied: User is not authorized to perform: iam:DeleteRole; run it again to finish"
    ]
    assert leftovers(name) == {"role": [f"toil-cluster--{name}"]}  # the rest went: each step runs regardless
    assert destroy_main(["-z", ZONE, name]) == 0
    assert "removed 1 role(s)" in capsys.readouterr().out and leftovers(name) == {}


def test_prices_come_from_aws_and_the_table_fills_in(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = {("c5.4xlarge", "us-west-2"): 0.612}
    with pricing_standin(listed) as (endpoint, queries):
        monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", endpoint)
        prices = AWSProvisioner(ZONE).prices()
        assert prices.on_demand("c5.4xlarge") == 0.612  # the Price List API's, not the table's 0.68
        assert prices.spot("c5.4xlarge") == 0.00001  # moto's spot price history, not the table's estimate
        assert prices.on_demand("r5.4xlarge") == OfflinePrices().on_demand("r5.4xlarge")  # not listed: the table
        assert prices.on_demand("c5.4xlarge") == 0.612 and len(queries) == 2  # each asked once
    assert queries[0] == {
        "instanceType": "c5.4xlarge",
        "regionCode": "us-west-2",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    assert prices.name.endswith("offline table for r5.4xlarge on-demand"), prices.name


def test_an_unreachable_price_list_falls_back_to_the_table_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", f"http://127.0.0.1:{closed.getsockname()[1]}")
        prices = AWSProvisioner(ZONE).prices()
        started = time.monotonic()
        assert [prices.on_demand(t) for t in ("t2.large", "m5.large")] == [0.0928, 0.096]
    assert time.monotonic() - started < 15  # the second type is not asked again
    assert "offline table for m5.large on-demand, t2.large on-demand" in prices.name
