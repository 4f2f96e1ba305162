"""The ssh and rsync command lines of ssh-cluster and rsync-cluster, and launch-cluster's wait for the leader
(against a stand-in ``ssh`` on PATH: no connection is made)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from toil.provision.cli import rsync_main, ssh_main
from toil.provision.parsing import build_spec
from toil.provision.remote import rsync_argv, ssh_argv, wait_for_appliance
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


def _fake_ssh(bin_dir: Path, script: str) -> Path:
    """An ``ssh`` first on PATH running ``script`` (it gets the arguments; calls are counted in ./calls)."""
    bin_dir.mkdir(exist_ok=True)
    ssh = bin_dir / "ssh"
    ssh.write_text(f'#!/bin/bash\necho "$*" >>{bin_dir}/calls\n{script}\n')
    ssh.chmod(0o755)
    return bin_dir / "calls"


def test_wait_for_appliance_asks_over_ssh_until_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ssh(tmp_path / "bin", f"[ -s {tmp_path}/up ] && echo true || {{ echo up >{tmp_path}/up; exit 1; }}")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    wait_for_appliance("203.0.113.7", 20)
    asked = calls.read_text().splitlines()
    assert len(asked) == 2  # not running yet, then running
    assert asked[0] == (
        "-T -oBatchMode=yes -oConnectTimeout=10 -oStrictHostKeyChecking=accept-new core@203.0.113.7 "
        "docker inspect --format '{{.State.Running}}' toil_leader"
    )


def test_wait_for_appliance_has_a_time_limit_and_says_why_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ssh(tmp_path / "bin", 'echo "ssh: connect to host 203.0.113.7 port 22: Connection refused" >&2; exit 255')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(ProvisionError) as failed:
        wait_for_appliance("203.0.113.7", 2)
    assert time.monotonic() - started < 5
    assert str(failed.value) == (
        "no answer with toil_leader running within 2 s "
        "(last: ssh: connect to host 203.0.113.7 port 22: Connection refused)"
    )


def test_wait_for_appliance_gives_up_on_a_hung_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_ssh(tmp_path / "bin", "exec sleep 30")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(ProvisionError, match=r"within 1.5 s \(last: ssh did not finish\)"):
        wait_for_appliance("203.0.113.7", 1.5, attempt_limit=1)
    assert time.monotonic() - started < 5


def test_wait_for_appliance_without_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProvisionError, match="no ssh command"):
        wait_for_appliance("203.0.113.7", 5)


@pytest.mark.parametrize("seconds", [-1.0, 86401.0])
def test_leader_wait_is_checked(seconds: float) -> None:
    with pytest.raises(ProvisionError, match="bad --leaderWait"):
        build_spec("c", "us-west-2a", "k", "t2.medium", leader_wait=seconds, environ={})
    assert build_spec("c", "us-west-2a", "k", "t2.medium", environ={}).leader_wait == 1200
