"""The ssh and rsync command lines of ssh-cluster and rsync-cluster (no connection is made)."""

from __future__ import annotations

import pytest

from toil.provision.cli import rsync_main, ssh_main
from toil.provision.remote import rsync_argv, ssh_argv
from toil.provision.spec import ProvisionError

INSECURE = ["-oUserKnownHostsFile=/dev/null", "-oStrictHostKeyChecking=no"]
FORWARDS = ["-L", "3000:localhost:3000", "-L", "9090:localhost:9090"]


def test_ssh_interactive_shell_in_the_appliance() -> None:
    argv = ssh_argv("203.0.113.7", [], tty=True)
    assert argv == ["ssh", "-t", *FORWARDS, "core@203.0.113.7", "docker", "exec", "-i", "-t", "toil_leader", "bash"]


def test_ssh_command_is_quoted_word_by_word() -> None:
    argv = ssh_argv(
        "203.0.113.7",
        ["ls", "-l", "/my dir", "a;b"],
        strict=False,
        ssh_options=["-i", "k.pem"],
        grafana_port=3001,
        ipv6=False,
    )
    assert argv == [
        "ssh",
        "-T",
        *INSECURE,
        "-i",
        "k.pem",
        "-L",
        "3001:localhost:3000",
        "-L",
        "9090:localhost:9090",
        "-4",
        "core@203.0.113.7",
        "docker",
        "exec",
        "-i",
        "toil_leader",
        "ls",
        "-l",
        "'/my dir'",
        "'a;b'",
    ]


def test_rsync_upload_and_download() -> None:
    up = rsync_argv("203.0.113.7", ["-a", "sort.py", ":/root"])
    assert up == [
        "rsync",
        "-e",
        "ssh",
        "--rsync-path",
        "docker exec -i toil_leader rsync",
        "-a",
        "sort.py",
        "core@203.0.113.7:/root",
    ]
    down = rsync_argv("203.0.113.7", [":/root/out", "."], strict=False)
    assert down[:3] == ["rsync", "-e", "ssh " + " ".join(INSECURE)] and down[-2:] == ["core@203.0.113.7:/root/out", "."]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["a", "b"], "no remote path"),
        ([":a", ":b"], "two remote"),
        ([":a"], "source and a destination"),
    ],
)
def test_rsync_bad_arguments(args: list[str], needle: str) -> None:
    with pytest.raises(ProvisionError, match=needle):
        rsync_argv("203.0.113.7", args)


def test_rsync_cluster_bad_arguments_fail_before_any_aws_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert rsync_main(["-z", "us-west-2a", "c1", "a", "b"]) == 1
    assert capsys.readouterr().err.startswith("toil rsync-cluster: error: no remote path")


def test_ssh_cluster_needs_a_zone(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOIL_AWS_ZONE", raising=False)
    assert ssh_main(["c1"]) == 1
    assert capsys.readouterr().err.strip() == "toil ssh-cluster: error: no zone: give -z/--zone or set TOIL_AWS_ZONE"
