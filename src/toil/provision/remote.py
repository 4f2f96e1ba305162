"""The ssh and rsync command lines of ssh-cluster and rsync-cluster, built as Toil builds them.

Both reach the appliance container (``toil_leader``) on the leader as the ``core`` user, which the node
bootstrap makes the image's default user (as on Toil's Flatcar nodes).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time

from toil.provision.spec import ProvisionError

APPLIANCE_CONTAINER = "toil_leader"
SSH_USER = "core"
# Toil's ssh-cluster forwards Grafana (local --grafana_port -> 3000) and Prometheus (9090) from the leader;
# 3000 is where a leader run with --metrics serves its dashboard and /metrics (--metricsPort's default)
PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
_INSECURE = ["-oUserKnownHostsFile=/dev/null", "-oStrictHostKeyChecking=no"]


def ssh_argv(
    address: str,
    command: list[str],
    *,
    strict: bool = True,
    tty: bool = False,
    ssh_options: list[str] | None = None,
    grafana_port: int = GRAFANA_PORT,
    ipv6: bool = True,
) -> list[str]:
    """ssh to the leader running ``command`` (default bash) in the appliance."""
    argv = ["ssh", "-t" if tty else "-T"]  # Toil always passes -tt, which mangles a piped command's output
    argv += [] if strict else list(_INSECURE)
    argv += list(ssh_options or [])
    argv += ["-L", f"{grafana_port}:localhost:{GRAFANA_PORT}", "-L", f"{PROMETHEUS_PORT}:localhost:{PROMETHEUS_PORT}"]
    if not ipv6:
        argv.append("-4")  # forwarding to [::1] fails where IPv6 is off
    argv.append(f"{SSH_USER}@{address}")
    argv += ["docker", "exec", "-i", *(["-t"] if tty else []), APPLIANCE_CONTAINER]
    # ssh joins its arguments into one remote shell line: quote each so it arrives as one word
    return argv + [shlex.quote(word) for word in (command or ["bash"])]


def remote_argument(args: list[str]) -> int:
    """The index of the one argument starting with ':' (the leader's side); ProvisionError if not exactly one."""
    remote = [i for i, arg in enumerate(args) if arg.startswith(":")]
    if not remote:
        raise ProvisionError("no remote path: mark the leader's side with a leading ':' (e.g. sort.py :/root)")
    if len(remote) > 1:
        raise ProvisionError("cannot rsync between two remote paths: give one local and one ':' path")
    if len(args) < 2:
        raise ProvisionError("give a source and a destination (e.g. sort.py :/root or :/root/out .)")
    return remote[0]


def rsync_argv(address: str, args: list[str], *, strict: bool = True) -> list[str]:
    """rsync over ssh into the appliance: the one argument starting with ':' is the leader's side."""
    remote = remote_argument(args)
    located = list(args)
    located[remote] = f"{SSH_USER}@{address}{args[remote]}"
    ssh = " ".join(["ssh", *([] if strict else _INSECURE)])
    return ["rsync", "-e", ssh, "--rsync-path", f"docker exec -i {APPLIANCE_CONTAINER} rsync", *located]


def leader_probe_argv(address: str, command: list[str], connect_timeout: int = 10) -> list[str]:
    """ssh to a new leader's host (not its appliance) running ``command``, never prompting.

    A new leader's host key is not known yet: it is accepted and recorded (accept-new), so a later strict
    ssh-cluster checks it; a changed key is still refused.
    """
    return [
        "ssh",
        "-T",
        "-oBatchMode=yes",
        f"-oConnectTimeout={connect_timeout}",
        "-oStrictHostKeyChecking=accept-new",
        f"{SSH_USER}@{address}",
        *(shlex.quote(word) for word in command),
    ]


def appliance_probe_argv(address: str, connect_timeout: int = 10) -> list[str]:
    """ssh to the leader asking whether the appliance container runs (prints 'true' once it does)."""
    inspect = ["docker", "inspect", "--format", "{{.State.Running}}", APPLIANCE_CONTAINER]
    return leader_probe_argv(address, inspect, connect_timeout)


def read_ca_cert_hash(address: str, path: str, limit: float = 60.0) -> str:
    """The cluster CA's public key hash the leader's bootstrap wrote at ``path`` (64 hex digits), over ssh."""
    try:
        done = subprocess.run(
            leader_probe_argv(address, ["cat", path]),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        raise ProvisionError(f"ssh did not finish reading {path} within {limit:g} s") from None
    found = done.stdout.strip()
    if done.returncode != 0 or not re.fullmatch(r"[0-9a-f]{64}", found):
        said = (done.stderr.strip().splitlines() or [found or f"ssh exited with {done.returncode}"])[-1]
        raise ProvisionError(f"no CA hash in {path} on the leader (the bootstrap's kubeadm init failed?): {said}")
    return found


def wait_for_appliance(address: str, limit: float, attempt_limit: float = 60.0) -> None:
    """Poll the leader over ssh until its appliance runs; ProvisionError (one line) after ``limit`` seconds.

    Toil waits for the SSH port, then for the appliance, each without a time limit; this is one bounded wait
    through the user's own ssh (and ssh configuration), as ssh-cluster reaches the leader.
    """
    argv = appliance_probe_argv(address)
    deadline = time.monotonic() + limit
    delay, last = 1.0, "no answer yet"
    while True:
        remaining = deadline - time.monotonic()
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=max(1.0, min(remaining, attempt_limit)),
            )
        except FileNotFoundError:
            raise ProvisionError("no ssh command: install OpenSSH's client to reach the leader") from None
        except subprocess.TimeoutExpired:
            last = "ssh did not finish"
        else:
            if done.returncode == 0 and done.stdout.strip() == "true":
                return
            lines = [line for line in done.stderr.splitlines() if line.strip() and "Warning: Permanently" not in line]
            last = lines[-1].strip() if lines else f"ssh exited with {done.returncode}"
        if time.monotonic() + delay > deadline:
            raise ProvisionError(f"no answer with {APPLIANCE_CONTAINER} running within {limit:g} s (last: {last})")
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
