"""The node bootstrap: the cloud-init user data that starts the appliance and, for Kubernetes, kubeadm."""

from __future__ import annotations

import secrets
import shlex
import string
from dataclasses import dataclass

from toil.provision.spec import LEADER, ClusterSpec

# kubeadm's bootstrap token: [a-z0-9]{6}.[a-z0-9]{16}
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits
# workers of a fixed launch join within minutes; a token that lived longer would be a standing credential
JOIN_TOKEN_TTL = "2h0m0s"
POD_NETWORK_CIDR = "10.244.0.0/16"  # flannel's default
KUBERNETES_MINOR = "1.30"
CA_CERT_HASH_FILE = "/etc/toil/ca-cert-hash"  # on the leader of a Kubernetes cluster, once kubeadm init is done
FLANNEL_MANIFEST = "https://github.com/flannel-io/flannel/releases/download/v0.25.5/kube-flannel.yml"
# the image's default user is named as on Toil's Flatcar nodes, so 'core@leader' works for ssh and rsync
_DEFAULT_USER = (
    "groups: [docker]\n"
    "system_info:\n"
    "  default_user:\n"
    "    name: core\n"
    "    groups: [docker]\n"
    "    sudo: ['ALL=(ALL) NOPASSWD:ALL']\n"
    "    shell: /bin/bash\n"
)


def new_join_token() -> str:
    """A fresh kubeadm bootstrap token."""
    return f"{_random_text(6)}.{_random_text(16)}"


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class NodeBootstrap:
    """What one node needs to know when it boots."""

    spec: ClusterSpec
    role: str  # leader or worker
    join_token: str
    leader_ip: str = ""  # the leader's private address (workers only)
    ca_cert_hash: str = ""  # sha256 of the leader's cluster CA public key (workers; read from the leader)


def cluster_environment(boot: NodeBootstrap) -> dict[str, str]:
    """The variables written to /etc/toil/cluster.env (read by the bootstrap script and the appliance)."""
    spec = boot.spec
    env = {
        "TOIL_CLUSTER_NAME": spec.name,
        "TOIL_NODE_ROLE": boot.role,
        "TOIL_CLUSTER_TYPE": spec.cluster_type,
        "TOIL_APPLIANCE_SELF": spec.appliance,
        "TOIL_AWS_ZONE": spec.zone,
        "TOIL_AWS_TAGS": _json_tags(spec.base_tags()),
    }
    if boot.role == LEADER:
        # recorded for the autoscaler (issue 20): its --nodeTypes, --minNodes and --maxNodes
        env["TOIL_CLUSTER_NODE_TYPES"] = ",".join(str(g.node_type) for g in spec.workers)
        env["TOIL_CLUSTER_MIN_NODES"] = ",".join(str(g.min_count) for g in spec.workers)
        env["TOIL_CLUSTER_MAX_NODES"] = ",".join(str(g.max_count) for g in spec.workers)
    else:
        env["TOIL_LEADER_IP"] = boot.leader_ip
    return env


def _json_tags(tags: dict[str, str]) -> str:
    import json

    return json.dumps(tags, sort_keys=True, separators=(",", ":"))


def bootstrap_script(boot: NodeBootstrap) -> str:
    """The shell script cloud-init runs once: kubeadm init or join, then the appliance."""
    lines = ["#!/bin/bash", "set -euo pipefail", "set -a; . /etc/toil/cluster.env; set +a", *_docker_lines()]
    if boot.spec.cluster_type == "kubernetes":
        lines += _kubernetes_install_lines() + _kubeadm_lines(boot)
    lines += _appliance_lines(boot.role, sorted(cluster_environment(boot)), boot.spec.cluster_type)
    return "\n".join(lines) + "\n"


def _docker_lines() -> list[str]:
    """Docker from the image's packages unless the image has it (Toil's Flatcar images do)."""
    return [
        "export DEBIAN_FRONTEND=noninteractive",
        "command -v docker >/dev/null || { apt-get update -q && apt-get install -y -q docker.io; }",
        "systemctl enable --now docker",
    ]


def _kubernetes_install_lines() -> list[str]:
    """kubeadm, kubelet and kubectl from Kubernetes' own apt repository unless the image has them."""
    repo = f"https://pkgs.k8s.io/core:/stable:/v{KUBERNETES_MINOR}/deb/"
    return [
        "if ! command -v kubeadm >/dev/null; then",
        "  install -d -m 0755 /etc/apt/keyrings",
        f"  curl -fsSL {repo}Release.key | gpg --dearmor -o /etc/apt/keyrings/kubernetes.gpg",
        f"  echo 'deb [signed-by=/etc/apt/keyrings/kubernetes.gpg] {repo} /' > /etc/apt/sources.list.d/kubernetes.list",
        "  apt-get update -q && apt-get install -y -q kubelet kubeadm kubectl",
        "fi",
        # kubeadm's preflight checks: no swap, bridged traffic seen by iptables, forwarding on
        "swapoff -a; modprobe br_netfilter",
        "sysctl -w net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1",
    ]


def _kubeadm_lines(boot: NodeBootstrap) -> list[str]:
    token = shlex.quote(boot.join_token)
    if boot.role == LEADER:
        return [
            f"kubeadm init --token {token} --token-ttl {JOIN_TOKEN_TTL} --pod-network-cidr {POD_NETWORK_CIDR}",
            "mkdir -p /root/.kube && cp /etc/kubernetes/admin.conf /root/.kube/config",
            f"kubectl --kubeconfig /root/.kube/config apply -f {FLANNEL_MANIFEST}",
            # the CA's public key hash, which launch-cluster reads over ssh and gives the workers to pin
            # (kubeadm's own recipe); public, so readable by the ssh user
            f"openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der"
            f" | sha256sum | cut -d' ' -f1 >{CA_CERT_HASH_FILE}.new && mv {CA_CERT_HASH_FILE}.new {CA_CERT_HASH_FILE}",
        ]
    if boot.ca_cert_hash:  # the worker checks it talks to this cluster's API server before trusting it
        discovery = f"--discovery-token-ca-cert-hash sha256:{boot.ca_cert_hash}"
    else:  # launched without waiting for the leader (--leaderWait 0): only the expiring token authenticates
        discovery = "--discovery-token-unsafe-skip-ca-verification"
    return [f'until kubeadm join "$TOIL_LEADER_IP:6443" --token {token} {discovery}; do sleep 10; done']


def _appliance_lines(role: str, variables: list[str], cluster_type: str = "kubernetes") -> list[str]:
    if role != LEADER:
        # workers run jobs as pods from the appliance image; beside them, the node agent watches for a spot
        # interruption notice and cordons the node (with the kubelet's own credentials) so jobs leave it in time
        if cluster_type != "kubernetes":
            return []
        return [
            "docker run -d --name toil_node_agent --restart always --network host "
            "-v /etc/kubernetes/kubelet.conf:/root/.kube/config:ro -v /var/lib/kubelet/pki:/var/lib/kubelet/pki:ro "
            '"$TOIL_APPLIANCE_SELF" toil-node-agent --batchSystem kubernetes --node "$(hostname | tr A-Z a-z)"',
        ]
    # -e NAME passes the sourced value through unchanged (an --env-file would keep the shell quoting)
    passed = " ".join(f"-e {name}" for name in variables)
    return [
        f"docker run -d --name toil_leader --restart always --network host {passed} "
        '-v /root/.kube:/root/.kube:ro -v /var/lib/toil:/var/lib/toil "$TOIL_APPLIANCE_SELF" sleep infinity',
    ]


def user_data(boot: NodeBootstrap) -> str:
    """The #cloud-config document for one node."""
    env = "".join(f"{k}={shlex.quote(v)}\n" for k, v in cluster_environment(boot).items())
    return (
        "#cloud-config\n"
        + _DEFAULT_USER
        + "write_files:\n"
        + _file_entry("/etc/toil/cluster.env", "0600", env)
        + _file_entry("/usr/local/sbin/toil-bootstrap", "0700", bootstrap_script(boot))
        + "runcmd:\n  - [/usr/local/sbin/toil-bootstrap]\n"
    )


def _file_entry(path: str, mode: str, content: str) -> str:
    body = "".join(f"      {line}\n" for line in content.splitlines())
    return f"  - path: {path}\n    permissions: '{mode}'\n    content: |\n{body}"


def include_user_data(url: str) -> str:
    """The small user data that makes cloud-init fetch the real document from a (presigned) URL."""
    return f"#include\n{url}\n"
