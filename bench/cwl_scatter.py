"""Scatter an echo tool over N inputs and gather the outputs: toil-cwl-runner beside cwltool --parallel.

    python bench/cwl_scatter.py [N ...]                 (default: 100 1000)
    python bench/cwl_scatter.py --containers [N ...]    (the tool in docker.io/library/debian:stable-slim;
                                                        default N: 50; infra/podman-up.sh first)

With --containers: toil-cwl-runner with its automatic engine (docker here: the docker CLI through Podman's
API) and with --podman, cwltool --parallel (docker; its --podman passes --userns=keep-id, which Podman
refuses as root), and Toil 9.6 if bench/toil-venv holds it (docker, with --no-prepull: its default pre-pull asks the
registry even for an image the node has, and no registry is reachable here).

Prints one JSON line per runner and N: wall time and the leader's peak RSS
(VmHWM of the runner's own process, polled), and checks both runners return
N files. Never asserts on time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

TOOL = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  msg: {type: string, inputBinding: {position: 1}}
stdout: out.txt
outputs:
  out: {type: stdout}
"""
WORKFLOW = """cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  msgs: {type: {type: array, items: string}}
outputs:
  outs: {type: {type: array, items: File}, outputSource: echo/out}
steps:
  echo:
    run: echo.cwl
    scatter: msg
    in: {msg: msgs}
    out: [out]
"""


def peak_rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(command: list[str], cwd: str) -> tuple[float, float, Any]:
    out_path = os.path.join(cwd, "stdout.json")  # a file, not a pipe: the output object is large
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, peak_rss_mib(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {proc.returncode}")
    with open(out_path, "rb") as f:
        return wall, peak, json.loads(f.read())


IMAGE = "docker.io/library/debian:stable-slim"
CONTAINER_TOOL = TOOL.replace(
    "baseCommand: echo", f"requirements:\n  DockerRequirement: {{dockerPull: {IMAGE}}}\nbaseCommand: echo"
)


def bench(n: int, runner: str, command: list[str], tool: str = TOOL) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cwl-") as tmp:
        with open(os.path.join(tmp, "echo.cwl"), "w") as f:
            f.write(tool)
        with open(os.path.join(tmp, "wf.cwl"), "w") as f:
            f.write(WORKFLOW)
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump({"msgs": [f"message {i}" for i in range(n)]}, f)
        wall, peak, out = run([*command, "--outdir", os.path.join(tmp, "out"), "wf.cwl", "job.json"], tmp)
    if len(out.get("outs", [])) != n:
        raise SystemExit(f"{runner}: expected {n} outputs, got {len(out.get('outs', []))}")
    kind = "cwl-scatter-container" if tool != TOOL else "cwl-scatter"
    figures = {
        "benchmark": f"{kind}-{n}",
        "runner": runner,
        "n": n,
        "wall_s": round(wall, 2),
        "leader_peak_rss_mib": round(peak, 1),
    }
    print(json.dumps(figures), flush=True)
    return figures


def main(argv: list[str]) -> int:
    containers = "--containers" in argv
    sizes = [int(a) for a in argv if a != "--containers"] or ([50] if containers else [100, 1000])
    bindir = os.path.dirname(sys.executable)
    toil = shutil.which("toil-cwl-runner", path=bindir) or "toil-cwl-runner"
    cwltool = shutil.which("cwltool", path=bindir) or "cwltool"
    if containers:
        toil96 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toil-venv", "bin", "toil-cwl-runner")
        for n in sizes:
            bench(n, "toil-cwl-runner (auto: docker)", [toil, "--quiet"], CONTAINER_TOOL)
            bench(n, "toil-cwl-runner --podman", [toil, "--quiet", "--podman"], CONTAINER_TOOL)
            bench(n, "cwltool --parallel (docker)", [cwltool, "--quiet", "--parallel"], CONTAINER_TOOL)
            if os.path.exists(toil96):
                path = f"PATH={os.path.dirname(toil96)}:{os.environ.get('PATH', '')}"  # its cwl-docker-extract
                bench(
                    n,
                    "Toil 9.6 (docker, --no-prepull)",
                    ["env", path, toil96, "--quiet", "--no-prepull"],
                    CONTAINER_TOOL,
                )
        return 0
    for n in sizes:
        bench(n, "toil-cwl-runner", [toil, "--quiet", "--no-container"])
        bench(n, "cwltool --parallel", [cwltool, "--quiet", "--no-container", "--parallel"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
