"""Whole CWL v1.2 conformance suite wall time: toil-cwl-runner beside cwltool, run back to back.

    python bench/cwl_suite_wall.py [ROUNDS]      (default 1; each round runs cwltool then toil-cwl-runner)

The machine's speed drifts over minutes, so the two runners alternate and each
round prints both. Prints JSON lines (wall time, sum of per-test times,
passed count); never asserts on time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.environ.get(
    "CWL_CONFORMANCE_DIR", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "conformance", "cwl-v1.2")
)


def run_suite(runner: str, extra: list[str]) -> dict[str, object]:
    bindir = os.path.dirname(sys.executable)
    tool = shutil.which(runner, path=bindir) or runner
    with tempfile.TemporaryDirectory(prefix="cwl-suite-") as tmp:
        junit = os.path.join(tmp, "junit.xml")
        command = [
            shutil.which("cwltest", path=bindir) or "cwltest",
            "--test",
            "conformance_tests.yaml",
            "--tool",
            tool,
            "-j2",
            "--timeout",
            "300",
            "--junit-xml",
            junit,
            "--",
            "--no-container",
            *extra,
        ]
        started = time.perf_counter()
        p = subprocess.run(command, cwd=SUITE, capture_output=True, text=True)
        wall = time.perf_counter() - started
        times = [float(c.get("time") or 0) for c in ET.parse(junit).getroot().iter("testcase")]
    summary = re.findall(r"(\d+) tests passed", p.stdout + p.stderr)
    return {
        "benchmark": "cwl-v1.2-suite",
        "runner": runner,
        "wall_s": round(wall, 1),
        "sum_test_s": round(sum(times), 1),
        "tests": len(times),
        "passed": int(summary[-1]) if summary else None,
    }


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 1
    for _ in range(rounds):
        for runner, extra in (("cwltool", []), ("toil-cwl-runner", ["--clean", "always"])):
            print(json.dumps(run_suite(runner, extra)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
