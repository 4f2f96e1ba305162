"""A WDL workflow scattering a task over N inputs and gathering the outputs: toil-wdl-runner beside miniwdl.

    python bench/wdl_scatter.py [N ...]                 (default: 100 1000)
    python bench/wdl_scatter.py --containers [N ...]    (the task in debian:stable-slim with --container docker
                                                        and podman; default N: 50; infra/podman-up.sh first)

Prints one JSON line per runner and N: wall time and the peak RSS of the
leader process (VmHWM of the process the command started; the jobs run in
other processes). Stock ``miniwdl run`` needs a container engine; this
machine has none, so miniwdl is run as a library with its own scheduler
and task runtime and toil's host "container" backend (the same host
execution toil-wdl-runner uses), which is the closest like-for-like run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

WDL_SOURCE = """version 1.0
workflow scatter_bench {
  input { Int n }
  scatter (i in range(n)) {
    call square { input: x = i }
  }
  output {
    Int total = length(square.out)
    Array[Int] squares = square.out
    Array[File] files = square.f
  }
}
task square {
  input { Int x }
  command <<< echo $(( ~{x} * ~{x} )) >>>
  output {
    Int out = read_int(stdout())
    File f = stdout()
  }
  runtime { cpu: 1  memory: "100 MiB" }
}
"""

MINIWDL_CHILD = """
import json, logging, sys
import WDL
from WDL.runtime import task_container, config
from toil.compiler.wdl.task import HostContainer
task_container._backends["host"] = HostContainer   # miniwdl loads plugins only when none is registered
doc = WDL.load(sys.argv[1])
overrides = {"scheduler": {"container_backend": "host"}, "call_cache": {"get": "false", "put": "false"}}
cfg = config.Loader(logging.getLogger("bench"), filenames=[], overrides=overrides)
inputs = WDL.values_from_json({"n": int(sys.argv[2])}, doc.workflow.available_inputs, doc.workflow.required_inputs)
run_dir, outputs = WDL.runtime.run(cfg, doc.workflow, inputs, run_dir=sys.argv[3])
print(json.dumps(WDL.values_to_json(outputs)))
"""


def run(cmd: list[str], cwd: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of the started process, stdout)."""
    start = time.perf_counter()
    out = open(os.path.join(cwd, "stdout"), "w+")
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    out.seek(0)
    text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return wall, peak / 1024, text


def check(outputs: dict[str, Any], n: int) -> None:
    squares = outputs.get("scatter_bench.squares") or outputs.get("squares")
    if squares != [i * i for i in range(n)]:
        raise SystemExit(f"wrong result: {str(squares)[:200]}")


def containers(sizes: list[int]) -> None:
    """toil-wdl-runner with the task in a container, through each engine (miniwdl's own backends need a
    registry to pull from, so it has no like-for-like run here)."""
    source = WDL_SOURCE.replace("runtime { cpu: 1", 'runtime { container: "debian:stable-slim"  cpu: 1')
    runner = os.path.join(os.path.dirname(sys.executable), "toil-wdl-runner")
    for n in sizes:
        for engine in ("docker", "podman"):
            with tempfile.TemporaryDirectory(prefix="bench-wdl-") as tmp:
                wdl = os.path.join(tmp, "scatter.wdl")
                with open(wdl, "w") as f:
                    f.write(source)
                wall, rss, text = run(
                    [
                        runner,
                        wdl,
                        "-i",
                        json.dumps({"scatter_bench.n": n}),
                        "-o",
                        os.path.join(tmp, "out"),
                        "--jobStore",
                        os.path.join(tmp, "js"),
                        "--logLevel",
                        "WARNING",
                        "--workDir",
                        tmp,
                        "--container",
                        engine,
                    ],
                    tmp,
                )
                check(json.loads(text), n)
                print(
                    json.dumps(
                        {
                            "benchmark": f"wdl-scatter-container-{n}",
                            "runner": f"toil-wdl-runner --container {engine}",
                            "tasks": n,
                            "wall_s": round(wall, 2),
                            "leader_peak_rss_mib": round(rss, 1),
                        }
                    ),
                    flush=True,
                )


def main() -> None:
    if "--containers" in sys.argv:
        containers([int(a) for a in sys.argv[1:] if a != "--containers"] or [50])
        return
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    bindir = os.path.dirname(sys.executable)
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-wdl-") as tmp:
            wdl = os.path.join(tmp, "scatter.wdl")
            with open(wdl, "w") as f:
                f.write(WDL_SOURCE)
            wall, rss, text = run(
                [
                    os.path.join(bindir, "toil-wdl-runner"),
                    wdl,
                    "-i",
                    json.dumps({"scatter_bench.n": n}),
                    "-o",
                    os.path.join(tmp, "out"),
                    "--jobStore",
                    os.path.join(tmp, "js"),
                    "--logLevel",
                    "WARNING",
                    "--workDir",
                    tmp,
                ],
                tmp,
            )
            check(json.loads(text), n)
            print(
                json.dumps(
                    {
                        "benchmark": f"wdl-scatter-{n}",
                        "runner": "toil-wdl-runner",
                        "tasks": n,
                        "wall_s": round(wall, 2),
                        "leader_peak_rss_mib": round(rss, 1),
                    }
                ),
                flush=True,
            )
            os.makedirs(os.path.join(tmp, "mw"))
            wall, rss, text = run([sys.executable, "-c", MINIWDL_CHILD, wdl, str(n), os.path.join(tmp, "mw")], tmp)
            check(json.loads(text.strip().splitlines()[-1]), n)
            print(
                json.dumps(
                    {
                        "benchmark": f"wdl-scatter-{n}",
                        "runner": "miniwdl (library, host backend)",
                        "tasks": n,
                        "wall_s": round(wall, 2),
                        "leader_peak_rss_mib": round(rss, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
