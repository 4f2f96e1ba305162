"""The node agent: on a worker node, polls the instance metadata for a spot interruption notice and, when one
comes, drains the node in its batch system, marked as under notice.

EC2 gives a spot instance two minutes' notice at ``/latest/meta-data/spot/instance-action`` (404 until then).
The leader's autoscaler sees the node under notice (the batch system's node description), sends no new job
there and re-issues, as lost, the jobs that would not finish in time; the node's loss then costs no retry.

    python -m toil.provision.node_agent --batchSystem slurm --node NAME [--interval 5] [--imds URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toil.runtime.batch.remote.kubernetes.specs import SPOT_NOTICE_LABEL
from toil.runtime.batch.remote.slurm import SPOT_NOTICE_REASON

log = logging.getLogger("toil.node_agent")

IMDS = "http://169.254.169.254"
TOKEN_TTL = 21600  # seconds an IMDSv2 token lives (EC2's maximum)


@dataclass(frozen=True)
class SpotNotice:
    """EC2's notice: what it will do (terminate, stop, hibernate) and when (ISO 8601, UTC)."""

    action: str
    time: str


class MetadataClient:
    """IMDSv2: a session token, then GETs carrying it (a new token when the old one is refused)."""

    def __init__(self, base: str = IMDS, timeout: float = 2.0) -> None:
        self.base, self.timeout, self.token = base.rstrip("/"), timeout, ""

    def _new_token(self) -> str:
        request = urllib.request.Request(
            f"{self.base}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL)},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            return str(answer.read().decode())

    def get(self, path: str) -> str | None:
        """The value at ``path`` under /latest/meta-data/, None where there is none (404)."""
        for _ in range(2):
            self.token = self.token or self._new_token()
            request = urllib.request.Request(
                f"{self.base}/latest/meta-data/{path}", headers={"X-aws-ec2-metadata-token": self.token}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    return str(answer.read().decode())
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return None
                if e.code != 401:
                    raise
                self.token = ""  # expired: ask again
        raise PermissionError("the instance metadata service refused a fresh token")

    def spot_notice(self) -> SpotNotice | None:
        """The interruption notice, if EC2 has given one."""
        text = self.get("spot/instance-action")
        if text is None:
            return None
        found = json.loads(text)
        return SpotNotice(str(found.get("action", "terminate")), str(found.get("time", "")))


def slurm_drain_argv(node: str, notice: SpotNotice) -> list[str]:
    """scontrol draining the node with the reason the Slurm batch system reads as a notice (one word)."""
    reason = f"{SPOT_NOTICE_REASON}:{notice.action}@{notice.time}"
    return ["scontrol", "update", f"NodeName={node}", "State=DRAIN", f"Reason={reason}"]


def slurm_drain(node: str, notice: SpotNotice) -> None:
    done = subprocess.run(slurm_drain_argv(node, notice), capture_output=True, text=True)
    if done.returncode != 0:
        log.error("scontrol could not drain %s: %s", node, done.stderr.strip())


def kubernetes_patch(notice: SpotNotice) -> dict[str, Any]:
    """The Node patch: cordoned, and labelled with when it goes (read by the Kubernetes batch system as a notice)."""
    when = notice.time.replace(":", "").replace("-", "")  # label values: [A-Za-z0-9_.-]
    return {"metadata": {"labels": {SPOT_NOTICE_LABEL: when}}, "spec": {"unschedulable": True}}


def kubernetes_drain(node: str, notice: SpotNotice) -> None:
    """Patch the node through the API (the kubelet's credentials, ~/.kube/config, or the pod's service account)."""
    from kubernetes import client, config

    try:
        config.load_kube_config()
    except config.ConfigException:
        config.load_incluster_config()
    client.CoreV1Api().patch_node(node, kubernetes_patch(notice))


# batch system -> how to mark this node as under notice
DRAINERS: dict[str, Callable[[str, SpotNotice], None]] = {
    "slurm": slurm_drain,
    "kubernetes": kubernetes_drain,
}


def watch(
    client: MetadataClient,
    drain: Callable[[SpotNotice], None],
    interval: float,
    stop: Callable[[], bool] = lambda: False,
) -> SpotNotice | None:
    """Poll until a notice comes (then drain once and return it) or ``stop`` says so; metadata errors are retried."""
    while not stop():
        try:
            notice = client.spot_notice()
        except (OSError, ValueError) as e:  # the service is briefly unreachable, or answered nonsense
            log.warning("instance metadata: %s", e)
            notice = None
        if notice is not None:
            drain(notice)
            return notice
        time.sleep(interval)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="toil-node-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--batchSystem", choices=sorted(DRAINERS), required=True)
    parser.add_argument("--node", required=True, help="This node's name in the batch system.")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between polls (default 5).")
    parser.add_argument("--imds", default=IMDS, help="The instance metadata service (default: EC2's).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s toil-node-agent: %(message)s")
    drainer = DRAINERS[args.batchSystem]
    notice = watch(MetadataClient(args.imds), lambda n: drainer(args.node, n), args.interval)
    if notice is not None:
        log.info("spot interruption notice (%s at %s): drained %s", notice.action, notice.time, args.node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
