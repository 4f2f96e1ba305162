"""``toil launch-cluster``, ``destroy-cluster``, ``ssh-cluster`` and ``rsync-cluster``, with Toil's options."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable

from toil.options.parser import ToilArgumentParser
from toil.provision.parsing import build_spec, check_cluster_name, resolve_zone
from toil.provision.spec import ProvisionError

NODE_TYPES_HELP = (
    "Comma-separated node types, each slash-separated interchangeable instance types with an optional spot "
    "bid after a colon, e.g. c5.4xlarge/c5a.4xlarge:0.42,t2.large. Needs --workers."
)


def _common_parser(prog: str, description: str) -> ToilArgumentParser:
    parser = ToilArgumentParser(prog=prog, description=description)
    parser.add_argument("-p", "--provisioner", default="aws", choices=["aws"], help="The cloud to use.")
    parser.add_argument("-z", "--zone", default=None, help="The availability zone of the leader (else TOIL_AWS_ZONE).")
    parser.add_argument(
        "--logLevel",
        default="INFO",
        type=str.upper,
        choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
        help="How much to log.",
    )
    parser.add_argument("clusterName", help="The cluster's name: lowercase letters, digits and '-'.")
    return parser


def launch_parser() -> ToilArgumentParser:
    """launch-cluster's options, named and defaulted as in Toil 9.6."""
    parser = _common_parser("toil launch-cluster", "Launch a cluster: its leader and its static workers.")
    add = parser.add_argument
    add(
        "-T",
        "--clusterType",
        default="kubernetes",
        choices=["kubernetes", "mesos"],
        help="The cluster's scheduler (Toil 9.6 falls back to mesos with a warning; mesos is not supported here).",
    )
    add("--leaderNodeType", required=True, help="The leader's instance type (on demand).")
    add("--keyPairName", required=True, help="The EC2 key pair put on every node.")
    add("--owner", default=None, help="The Owner tag (else TOIL_OWNER_TAG, else --keyPairName).")
    add(
        "-t",
        "--tag",
        metavar="NAME=VALUE",
        dest="tags",
        default=[],
        action="append",
        help="A tag for every resource of the cluster (repeatable); TOIL_AWS_TAGS adds a JSON object of tags.",
    )
    add("--vpcSubnet", default=None, help="The subnet to launch into (else the zone's default subnet).")
    add("--nodeTypes", default=None, help=NODE_TYPES_HELP)
    add(
        "-w",
        "--workers",
        default=None,
        help="Comma-separated worker counts per node type: N, or MIN-MAX for the autoscaler (MIN start now).",
    )
    add("--leaderStorage", type=int, default=50, help="The leader's root volume, in GB.")
    add("--nodeStorage", type=int, default=50, help="Each worker's root volume, in GB.")
    add("--awsEc2ProfileArn", default=None, help="Use this instance profile instead of making the cluster's own.")
    add(
        "--awsEc2ExtraSecurityGroupId",
        dest="awsEc2ExtraSecurityGroupIds",
        default=[],
        action="append",
        help="Another security group for every node (repeatable).",
    )
    add(
        "--forceDockerAppliance",
        action="store_true",
        default=False,
        help="Do not check the appliance image (TOIL_APPLIANCE_SELF) with its registry.",
    )
    add(
        "--leaderWait",
        type=float,
        default=1200.0,
        metavar="SECONDS",
        help="How long to wait for the leader's appliance to answer over ssh (as core@LEADER, with your ssh "
        "configuration) before the launch fails and removes what it made; 0: do not wait (a leader not "
        "reachable from here).",
    )
    return parser


def destroy_parser() -> ToilArgumentParser:
    """destroy-cluster's options."""
    return _common_parser("toil destroy-cluster", "Remove a cluster and every resource it made.")


def _appliance(force: bool) -> str:
    from toil.lib.appliance import applianceSelf

    try:
        return applianceSelf(forceDockerAppliance=force)
    except ValueError as e:
        raise ProvisionError(str(e)) from None


def _run(prog: str, parser: ToilArgumentParser, action: Callable[[argparse.Namespace], int], argv: list[str]) -> int:
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.logLevel, format="%(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        return action(args)
    except ProvisionError as e:
        sys.stderr.write(f"{prog}: error: {' '.join(str(e).split())}\n")
        return 1


def _launch(args: argparse.Namespace) -> int:
    from toil.provision import provisioner

    zone = resolve_zone(args.zone, args.provisioner)
    spec = build_spec(
        args.clusterName,
        zone,
        args.keyPairName,
        args.leaderNodeType,
        cluster_type=args.clusterType,
        node_types=args.nodeTypes,
        workers=args.workers,
        leader_storage=args.leaderStorage,
        node_storage=args.nodeStorage,
        owner=args.owner,
        tags=args.tags,
        subnet=args.vpcSubnet,
        profile_arn=args.awsEc2ProfileArn,
        extra_security_groups=args.awsEc2ExtraSecurityGroupIds,
        appliance=_appliance(args.forceDockerAppliance),
        leader_wait=args.leaderWait,
        environ=os.environ,
    )
    logging.getLogger(__name__).info("Creating cluster %s in %s...", spec.name, zone)
    cluster = provisioner(args.provisioner, zone).launch(spec)
    print(
        f"Launched cluster {cluster.name} in {zone}: leader {cluster.leader_id}, "
        f"{len(cluster.worker_ids)} worker(s) {' '.join(cluster.worker_ids)}".rstrip()
    )
    return 0


def _destroy(args: argparse.Namespace) -> int:
    from toil.provision import provisioner

    zone = resolve_zone(args.zone, args.provisioner)
    name = check_cluster_name(args.clusterName)
    report = provisioner(args.provisioner, zone).destroy(name)
    kinds = ", ".join(f"{len(v)} {k}(s)" for k, v in report.removed.items())
    print(f"Cluster {name} is gone" + (f": removed {kinds}" if kinds else ": nothing of it was left"))
    return 0


def launch_main(argv: list[str]) -> int:
    """toil launch-cluster."""
    return _run("toil launch-cluster", launch_parser(), _launch, argv)


def destroy_main(argv: list[str]) -> int:
    """toil destroy-cluster."""
    return _run("toil destroy-cluster", destroy_parser(), _destroy, argv)


def ssh_parser() -> ToilArgumentParser:
    """ssh-cluster's options (Toil's --insecure, --sshOption, --grafana_port)."""
    parser = _common_parser("toil ssh-cluster", "Run a shell or a command in the appliance on the leader.")
    parser.add_argument("--insecure", action="store_true", help="Do not check the leader's host key.")
    parser.add_argument("--sshOption", dest="sshOptions", default=[], action="append", help="An option for ssh.")
    parser.add_argument(
        "--grafana_port", type=int, default=3000, help="The local port for the leader's dashboard (its 3000)."
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help="The command to run (default: bash).")
    return parser


def rsync_parser() -> ToilArgumentParser:
    """rsync-cluster's options."""
    parser = _common_parser("toil rsync-cluster", "Copy files to or from the appliance on the leader (rsync).")
    parser.add_argument("--insecure", action="store_true", help="Do not check the leader's host key.")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="rsync's arguments; ':PATH' is on the leader.")
    return parser


def _leader_address(args: argparse.Namespace) -> str:
    from toil.provision import provisioner

    zone = resolve_zone(args.zone, args.provisioner)
    return provisioner(args.provisioner, zone).leader_address(check_cluster_name(args.clusterName))


def _ssh(args: argparse.Namespace) -> int:
    import subprocess

    from toil.provision.remote import ssh_argv

    argv = ssh_argv(
        _leader_address(args),
        args.args,
        strict=not args.insecure,
        tty=sys.stdin.isatty(),
        ssh_options=args.sshOptions,
        grafana_port=args.grafana_port,
        ipv6=_have_ipv6(),
    )
    return subprocess.call(argv)


def _rsync(args: argparse.Namespace) -> int:
    import subprocess

    from toil.provision.remote import remote_argument, rsync_argv

    remote_argument(args.args)  # a bad argument list is an error before any AWS call
    argv = rsync_argv(_leader_address(args), args.args, strict=not args.insecure)
    return subprocess.call(argv)


def _have_ipv6() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def ssh_main(argv: list[str]) -> int:
    """toil ssh-cluster."""
    return _run("toil ssh-cluster", ssh_parser(), _ssh, argv)


def rsync_main(argv: list[str]) -> int:
    """toil rsync-cluster."""
    return _run("toil rsync-cluster", rsync_parser(), _rsync, argv)
