"""Run every benchmark of the core issue, each in a fresh process, and print a table.

python bench/run_all.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = [
    ("fanout.py", "1000"),
    ("fanout.py", "10000"),
    ("chain.py", "1000", "1"),
    ("chain.py", "1000", "0"),
    ("tree.py", "10"),
    ("files.py", "100"),
]
TARGETS = {
    "fanout-1000": "wall <= 2 s",
    "chain-1000-unchained": "ms/job <= 5",
    "fanout-10000": "leader RSS < 200 MiB",
}


def main() -> int:
    rows = []
    for script, *args in BENCHMARKS:
        p = subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{script} {' '.join(args)} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
    print(f"{'benchmark':<24}{'jobs':>7}{'wall s':>9}{'jobs/s':>9}{'ms/job':>9}{'leader MiB':>12}  target")
    for r in rows:
        print(
            f"{r['benchmark']:<24}{r['jobs']:>7}{r['wall_s']:>9.2f}{r['jobs_per_s']:>9.0f}{r['ms_per_job']:>9.2f}"
            f"{r['leader_peak_rss_mib']:>12.1f}  {TARGETS.get(r['benchmark'], '')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
