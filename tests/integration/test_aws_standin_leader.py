"""launch-cluster, ssh-cluster, rsync-cluster and destroy-cluster as a user runs them, with real ssh and rsync.

The AWS side is a moto_server of this module's own (the fixtures of test_aws_provision.py). moto invents
the leader's addresses: nothing may connect to them. The machine behind the leader is a Podman container
(tests/standin_leader.py) with a real sshd, which runs the bootstrap the launch put in the leader's user data.
Every ``toil`` command runs as a subprocess whose ssh configuration (the test's home) sends any host to that
container through a logging ProxyCommand; the code path is production's, only the ssh configuration differs.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests import standin_leader
from tests.integration.hpc import ensure_podman
from tests.integration.test_aws_provision import ZONE, leftovers, moto, moto_port  # noqa: F401 (fixtures)
from tests.provision_contract import fresh_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOIL = os.path.join(os.path.dirname(sys.executable), "toil")
GUARD = Path(__file__).resolve().parent.parent / "standin_socket_guard"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[standin_leader.StandinLeader]:
    """One stand-in leader machine (a container with sshd) and the test home whose ssh config reaches it."""
    missing = [tool for tool in ("podman", "ssh", "ssh-keygen", "rsync", "unshare") if not shutil.which(tool)]
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"needs {', '.join(missing)}")
    ensure_podman()
    leader = standin_leader.start(tmp_path_factory.mktemp("home"))
    yield leader
    standin_leader.stop(leader)


def _ec2() -> Any:
    return boto3.client("ec2", region_name="us-west-2")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Toil:
    """``toil`` subprocesses with the test's ssh configuration and a socket guard of their own."""

    def __init__(self, standin: standin_leader.StandinLeader, work: Path) -> None:
        self.standin, self.peers = standin, work / "peers.log"
        self.env = dict(os.environ)  # the moto fixture's AWS settings
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")]))
        self.env["TOIL_TEST_PEERS_LOG"] = str(self.peers)
        self.env["TOIL_APPLIANCE_SELF"] = "localhost/toil:test"

    def argv(self, *args: str) -> list[str]:
        return self.standin.run_argv([TOIL, *args])

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )

    def foreign_peers(self) -> list[str]:
        """Every address a toil process connected to that is not loopback (the log must exist: the guard ran)."""
        lines = self.peers.read_text().splitlines()
        assert lines, "the subprocesses' socket guard recorded nothing"
        return [line for line in lines if not re.match(r"\('(127\.0\.0\.1|::1|localhost)'", line)]


def _launch_argv(name: str, key_pair: str, wait: int, *more: str) -> list[str]:
    return [
        *("launch-cluster", *more),
        name,
        "-z",
        ZONE,
        "--leaderNodeType",
        "t2.medium",
        "--keyPairName",
        key_pair,
        "--forceDockerAppliance",
        "--leaderWait",
        str(wait),
        "--logLevel",
        "WARNING",
    ]


def _leader(name: str) -> dict[str, Any] | None:
    filters = [
        {"Name": "tag:clusterName", "Values": [name]},
        {"Name": "tag:ToilNodeType", "Values": ["leader"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    found = [i for r in _ec2().describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
    return found[0] if found else None


def _instances(name: str) -> list[dict[str, Any]]:
    filters = [{"Name": "tag:clusterName", "Values": [name]}]
    return [i for r in _ec2().describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def _followed(user_data: str) -> str:
    """The user data, with an #include's documents fetched (as cloud-init does)."""
    if not user_data.startswith("#include\n"):
        return user_data
    return "".join(standin_leader.fetch_included(url.strip()) for url in user_data.splitlines()[1:])


def _user_data(instance_id: str) -> str:
    data = _ec2().describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
    return base64.b64decode(data).decode()


def _boot_when_started(name: str, launch: subprocess.Popen[str], standin: standin_leader.StandinLeader) -> str:
    """Once the launch has started the leader, 'boot' it: cloud-init's work, with the key pair's public key
    and the leader's own user data, in the stand-in container. The leader's (moto) address."""
    deadline = time.monotonic() + 90
    while (leader := _leader(name)) is None or "PublicIpAddress" not in leader:
        assert launch.poll() is None, f"launch-cluster ended first: {launch.communicate()}"
        assert time.monotonic() < deadline, "the launch started no leader"
        time.sleep(0.2)
    key = _ec2().describe_key_pairs(KeyNames=[leader["KeyName"]], IncludePublicKey=True)["KeyPairs"][0]
    standin.cloud_init(_user_data(leader["InstanceId"]), key["PublicKey"])
    return str(leader["PublicIpAddress"])


def test_launch_waits_over_ssh_then_ssh_rsync_and_destroy_reach_the_standin(
    standin: standin_leader.StandinLeader, tmp_path: Path
) -> None:
    toil = Toil(standin, tmp_path)
    key_pair = f"standin-{fresh_name()}"
    _ec2().import_key_pair(KeyName=key_pair, PublicKeyMaterial=standin.public_key.encode())
    addresses: list[str] = []

    # a leader that never answers: the wait is bounded, one line says so, and nothing is left
    broken = fresh_name()
    started = time.monotonic()
    failed = toil.run(*_launch_argv(broken, key_pair, 4))
    assert failed.returncode == 1, failed.stderr
    err = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(err) == 1, failed.stderr
    match = re.fullmatch(
        rf"toil launch-cluster: error: launch-cluster {broken} failed while waiting for the leader's appliance over "
        r"ssh \(core@([\d.]+)\): no answer with toil_leader running within 4 s \(last: (.*)\); removed the \d+ "
        r"resource\(s\) it had made",
        err[0],
    )
    assert match, err[0]
    assert "Permission denied (publickey" in match[2]  # the stand-in's sshd answered: no key authorized yet
    assert time.monotonic() - started < 60
    assert leftovers(broken) == {}
    addresses.append(match[1])

    # the real launch: the leader boots from its user data while launch-cluster waits for it over ssh. The
    # user's tags make that user data larger than EC2 takes, so it goes through the cluster's bucket
    # (#include with a presigned URL), which the stand-in's cloud-init fetches as cloud-init does.
    name = fresh_name()
    tags = {f"project-{i:02d}-" + "k" * 100: "v" * 256 for i in range(40)}
    launch = subprocess.Popen(
        toil.argv(*_launch_argv(name, key_pair, 90, "--nodeTypes", "t2.small", "-w", "1")),
        env={**toil.env, "TOIL_AWS_TAGS": json.dumps(tags)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = _boot_when_started(name, launch, standin)
        out, err_text = launch.communicate(timeout=120)
    finally:
        if launch.poll() is None:
            launch.kill()
    addresses.append(address)
    assert launch.returncode == 0, err_text
    leader = _leader(name)
    assert leader is not None and _user_data(leader["InstanceId"]).startswith("#include\n")
    # the worker (no machine behind it) started after the leader answered, told the hash of the CA that the
    # leader's kubeadm made, so its kubeadm join checks it talks to this cluster's API server
    ca_hash = standin.exec(
        "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum"
    ).split()[0]
    assert standin.exec("cat /etc/toil/ca-cert-hash").strip() == ca_hash
    (worker,) = [i for i in _instances(name) if i["InstanceId"] != leader["InstanceId"]]
    assert worker["LaunchTime"] >= leader["LaunchTime"]
    joining = _followed(_user_data(worker["InstanceId"]))
    assert f"--discovery-token-ca-cert-hash sha256:{ca_hash}" in joining, joining
    assert "unsafe-skip-ca-verification" not in joining
    assert re.search(rf"Launched cluster {name} in {ZONE}: leader i-\w+", out)
    log = standin.log()
    assert re.search(r"^kubeadm init --token [a-z0-9]{6}\.[a-z0-9]{16} --token-ttl 2h0m0s", log, re.M), log
    assert "docker run -d --name toil_leader --restart always --network host" in log
    assert "docker inspect --format {{.State.Running}} toil_leader" in log  # the launch's wait, over ssh

    # ssh-cluster: a command in the appliance, with its environment (strict host key: the wait recorded it)
    grafana = str(_free_port())
    ran = toil.run(
        "ssh-cluster", "-z", ZONE, "--grafana_port", grafana, name, "sh", "-c", "echo $TOIL_CLUSTER_NAME; id -un"
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [name, "root"]
    seen = toil.run("ssh-cluster", "-z", ZONE, name, "sh", "-c", "echo $TOIL_AWS_TAGS")
    assert json.loads(seen.stdout)["project-07-" + "k" * 100] == "v" * 256, seen.stderr

    # rsync-cluster there and back
    (tmp_path / "sort.py").write_text("print(sorted([3, 1, 2]))\n" * 100)
    there = toil.run("rsync-cluster", "-z", ZONE, name, "-a", "sort.py", ":/root/", cwd=tmp_path)
    assert there.returncode == 0, there.stderr
    assert standin.exec("cat /root/sort.py") == (tmp_path / "sort.py").read_text()
    standin.exec("echo made on the leader >/root/out.txt")
    (tmp_path / "back").mkdir()
    back = toil.run("rsync-cluster", "-z", ZONE, name, ":/root/out.txt", "back/", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "back" / "out.txt").read_text() == "made on the leader\n"

    gone = toil.run("destroy-cluster", "-z", ZONE, name)
    assert gone.returncode == 0, gone.stderr
    assert leftovers(name) == {}
    _ec2().delete_key_pair(KeyName=key_pair)

    # nothing connected to a moto address: the toil processes only to loopback (moto), and every ssh (the
    # launch's waits, ssh-cluster, rsync's) went through the ProxyCommand to the container on 127.0.0.1
    assert toil.foreign_peers() == []
    proxied = standin.proxy_log.read_text().splitlines()
    assert len(proxied) >= 5, proxied  # >= 1 wait per launch, one ssh-cluster, two rsyncs
    assert {line.split(":")[0] for line in proxied} == set(addresses)
    assert all(line.endswith(f" -> 127.0.0.1:{standin.port}") for line in proxied), proxied
    assert not [a for a in addresses if a.startswith("127.")]
    effective = subprocess.run(standin.run_argv(["ssh", "-G", f"core@{address}"]), capture_output=True, text=True)
    assert f"proxycommand {sys.executable} " in effective.stdout and f" {standin.port} %h %p" in effective.stdout
