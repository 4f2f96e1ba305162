"""The one-node Kubernetes cluster tests run pods on (infra/k8s-up.sh) with the appliance image in it
(infra/appliance.sh), both started here when the cluster does not answer.

``kube_env()`` gives the environment a leader needs: KUBECONFIG, and the ``aws:`` store on moto_server at
127.0.0.1 (pods use the host's network, so they reach it too). If the cluster cannot start, the test skips
with the reason; under CI (``CI`` set) that is a failure instead, because CI must run these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.objectstores import ROOT, s3_env

__all__ = ["kube_env", "kubectl", "label_node", "objects", "wait_for"]

KUBECONFIG = "/opt/k8s/kubeconfig"
_ready: list[bool] = []


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run these tests)")
    pytest.skip(message)


def kubectl(*argv: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        ["kubectl", "--request-timeout=30s", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": KUBECONFIG},
    )
    if check and p.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(argv)}: {p.stderr.strip()}")
    return p


def ensure_cluster() -> None:
    """The cluster is up and the appliance image (of the code as it is now) is in its containerd."""
    if _ready:
        return
    for script in ("k8s-up.sh", "appliance.sh"):
        done = subprocess.run(
            ["bash", os.path.join(ROOT, "infra", script)], capture_output=True, text=True, timeout=1200
        )
        if done.returncode != 0:
            _fail_or_skip(f"infra/{script} failed: {(done.stderr or done.stdout).strip()[-400:]}")
    _ready.append(True)


def kube_env(store: str = "moto") -> dict[str, str]:
    ensure_cluster()
    return {**s3_env(store), "KUBECONFIG": KUBECONFIG}


def objects(kind: str, selector: str = "toil_run") -> list[dict[str, Any]]:
    """The cluster's objects of ``kind`` carrying the label ``selector`` (any workflow's, by default)."""
    p = kubectl("get", kind, "-l", selector, "-o", "json")
    return list(json.loads(p.stdout)["items"])


def label_node(**labels: str | None) -> None:
    """Set (or, with None, remove) labels on the node."""
    kubectl(
        "label",
        "node",
        "localhost",
        "--overwrite",
        *[f"{k}={v}" if v is not None else f"{k}-" for k, v in labels.items()],
    )
