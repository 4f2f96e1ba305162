"""The ssh and rsync command lines of ssh-cluster and rsync-cluster, built as Toil builds them.

Both reach the appliance container (``toil_leader``) on the leader as the ``core`` user, which the node
bootstrap makes the image's default user (as on Toil's Flatcar nodes).
"""

from __future__ import annotations

import shlex

from toil.provision.spec import ProvisionError

APPLIANCE_CONTAINER = "toil_leader"
SSH_USER = "core"
# Toil's ssh-cluster forwards Grafana (local --grafana_port -> 3000) and Prometheus (9090) from the leader
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
