"""Shared plumbing for benchmarks: run a workflow once, print one JSON line of figures."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from typing import Any

from toil.common import Toil
from toil.job import Job


def run(name: str, root: Job, jobs: int, expect: Any = None, **options: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        opts = Job.Runner.getDefaultOptions(os.path.join(tmp, "js"))
        opts.logLevel = "WARNING"
        opts.clean = "always"
        opts.workDir = tmp
        for key, value in options.items():
            setattr(opts, key, value)
        start = time.perf_counter()
        with Toil(opts) as toil:
            value = toil.start(root)
        wall = time.perf_counter() - start
    if expect is not None and value != expect:
        raise SystemExit(f"{name}: wrong result {value!r}, expected {expect!r}")
    figures = {
        "benchmark": name,
        "jobs": jobs,
        "wall_s": round(wall, 3),
        "jobs_per_s": round(jobs / wall, 1),
        "ms_per_job": round(1000 * wall / jobs, 3),
        "leader_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(figures))
    sys.stdout.flush()
    return figures


def arg(index: int, default: int) -> int:
    return int(sys.argv[index]) if len(sys.argv) > index else default
