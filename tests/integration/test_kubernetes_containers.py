"""Containerised CWL steps and WDL tasks on ``--batchSystem kubernetes``: Podman inside the appliance runs each
in its own image, in pods run with ``--kubernetesPrivileged true``; inputs and outputs move through the ``aws:``
job store on moto_server.

No registry is reachable here, so the pods' Podman finds the images in an additional image store (a standard
Podman setting, ``CONTAINERS_STORAGE_CONF``, given to the pods with ``--setEnv``), loaded from this machine's
images into the shared host path; on a real cluster, Podman pulls them. The CWL step's image is busybox, which the
appliance (Debian) does not have: its ``busybox`` banner proves where the command ran; WDL commands need bash, so
the WDL task runs in Debian, without the appliance's /opt/toil.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.image_store import load_image_store
from tests.kube import kube_env, objects
from tests.objectstores import aws_locator

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

BIN = Path(sys.executable).parent
IMAGES = ["docker.io/library/busybox:latest", "docker.io/library/debian:stable-slim"]  # infra/podman-up.sh's

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "busybox:latest"}
inputs:
  f: File
baseCommand: [sh, -c]
arguments: ["cat $(inputs.f.path); busybox | head -1"]
stdout: out.txt
outputs: {out: stdout}
"""

WDL_TASK = """\
version 1.0
task banner {
  input { File f }
  command <<< cat ~{f}; if [ -d /opt/toil ]; then echo in the appliance; else echo in its image; fi >>>
  runtime { docker: "debian:stable-slim" }
  output { Array[String] lines = read_lines(stdout()) }
}
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """The host path every pod mounts, holding an image store with the step's image and a storage.conf naming it."""
    path = tmp_path / "host"
    load_image_store(path, IMAGES)
    return path


def kube_args(host: Path, privileged: bool = True) -> list[str]:
    return [
        "--batchSystem", "kubernetes", "--kubernetesHostPath", str(host), "--logLevel", "WARNING",
        "--kubernetesPrivileged", str(privileged).lower(), "--setEnv", f"CONTAINERS_STORAGE_CONF={host}/storage.conf",
    ]  # fmt: skip


def given_file(tmp_path: Path) -> Path:
    """An input in a directory no pod mounts: the leader imports it into the job store."""
    path = tmp_path / "given" / "in.txt"
    path.parent.mkdir()
    path.write_text("from the leader\n")
    return path


def run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **kube_env()}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)


def test_a_cwl_step_runs_in_its_own_image(tmp_path: Path, host: Path) -> None:
    (tmp_path / "tool.cwl").write_text(TOOL)
    (tmp_path / "job.json").write_text(json.dumps({"f": {"class": "File", "path": str(given_file(tmp_path))}}))
    p = run(
        [str(BIN / "toil-cwl-runner"), "--quiet", "--jobStore", aws_locator(), "--outdir", str(tmp_path / "out")]
        + [*kube_args(host), "tool.cwl", "job.json"],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    lines = (tmp_path / "out" / "out.txt").read_text().splitlines()
    assert lines[0] == "from the leader" and lines[1].startswith("BusyBox v"), lines


def test_a_wdl_task_runs_in_its_own_image(tmp_path: Path, host: Path) -> None:
    (tmp_path / "banner.wdl").write_text(WDL_TASK)
    (tmp_path / "inputs.json").write_text(json.dumps({"banner.f": str(given_file(tmp_path))}))
    p = run(
        [str(BIN / "toil-wdl-runner"), "--jobStore", aws_locator(), "banner.wdl", "inputs.json"]
        + ["-o", str(tmp_path / "out"), *kube_args(host)],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout)["banner.lines"] == ["from the leader", "in its image"]


def test_unprivileged_pods_refuse_a_required_container_before_anything_runs(tmp_path: Path, host: Path) -> None:
    (tmp_path / "tool.cwl").write_text(TOOL)
    (tmp_path / "job.json").write_text(json.dumps({"f": {"class": "File", "path": str(given_file(tmp_path))}}))
    p = run(
        [str(BIN / "toil-cwl-runner"), "--quiet", "--jobStore", aws_locator(), "--outdir", str(tmp_path / "out")]
        + [*kube_args(host, privileged=False), "tool.cwl", "job.json"],
        tmp_path,
    )
    assert p.returncode != 0
    assert "--kubernetesPrivileged true" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert not objects("jobs") and not (tmp_path / "out" / "out.txt").exists()
