"""`--store aws` and `--batch-system NAME` for the conformance drivers: point the runners at an aws: job store on
moto_server, and run their jobs on a batch system (the one-node Kubernetes cluster of infra/k8s-up.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def use_aws_store() -> None:
    """Start moto_server if none answers, and point this process and the runners it starts at it."""
    sys.path.insert(0, REPO)
    from tests.objectstores import s3_env

    os.environ.update(s3_env("moto"))


def aws_locator(kind: str) -> str:
    return f"aws:us-west-2:{kind}-{uuid.uuid4().hex[:24]}"


KUBECONFIG = "/opt/k8s/kubeconfig"  # what infra/k8s-up.sh writes
HOST_PATH = Path("/var/tmp/toil-conformance-k8s")  # every pod mounts it: the image store, the pods' work files


def use_batch_system(name: str | None, store: str) -> list[str]:
    """The runner's arguments to run its jobs on batch system ``name`` (none: the runner's default).

    Kubernetes: its pods reach the job store over the network only, so the store must be aws; the cluster is
    started if it does not answer and the appliance image rebuilt from the code as it is (both quick when
    nothing changed); the runners get KUBECONFIG from the environment (infra/k8s-up.sh's when unset). Tools
    naming an image run in it with Podman in privileged pods, which find this machine's images in an image
    store on the host path they mount (no registry is reachable here).
    """
    if not name:
        return []
    if name.lower() == "kubernetes":
        if store != "aws":
            raise SystemExit(
                "--batch-system kubernetes: its pods share no file system with the runner: use --store aws"
            )
        os.environ.setdefault("KUBECONFIG", KUBECONFIG)
        for script in ("k8s-up.sh", "appliance.sh"):
            done = subprocess.run(["bash", os.path.join(REPO, "infra", script)], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"infra/{script} failed: {(done.stderr or done.stdout).strip()[-400:]}")
        sys.path.insert(0, REPO)
        from tests.image_store import load_image_store, local_images

        conf = load_image_store(HOST_PATH, local_images())
        return ["--batchSystem", name, "--kubernetesHostPath", str(HOST_PATH), "--kubernetesPrivileged", "true",
                "--setEnv", f"CONTAINERS_STORAGE_CONF={conf}"]  # fmt: skip
    return ["--batchSystem", name]
