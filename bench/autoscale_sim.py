"""Autoscaling on the simulator: this project's policy beside Toil 9.6's ClusterScaler, cost and makespan.

Three workloads, each without and with spot losses, replayed by src/toil/provision/autoscale/simulator.py;
Toil's ClusterScaler runs in bench/toil-venv (bench/autoscale_toil_scaler.py) over the same simulator file.
Run: .venv/bin/python bench/autoscale_sim.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toil.provision.autoscale import simulator
from toil.provision.autoscale.policy import PolicyOptions
from toil.provision.autoscale.simulated import PolicyScaler, node_choice
from toil.provision.autoscale.simulator import RunResult, Simulation, SpotModel
from toil.provision.autoscale.workloads import Workload, bench_node_types, fan_out_tail, mixed, uniform

HERE = Path(__file__).resolve().parent
TOIL_PYTHON = HERE / "toil-venv" / "bin" / "python"
MAX_NODES = [20, 20, 4]
SPOT_MEAN_LIFE = 3600.0  # seconds: an aggressive interruption rate, so losses happen within each run
OPTIONS = {"target_time": 1800, "beta_inertia": 0.1, "preemptible_compensation": 0.0, "scale_interval": 60}


def ours(workload: Workload, spot: SpotModel) -> RunResult:
    """This project's policy and driver over the simulator."""
    types = bench_node_types()
    choices = [node_choice(t, 0, m) for t, m in zip(types, MAX_NODES)]
    options = PolicyOptions(
        target_time=OPTIONS["target_time"],
        beta_inertia=OPTIONS["beta_inertia"],
        preemptible_compensation=OPTIONS["preemptible_compensation"],
        assume_zero_overhead=True,
    )
    sim = Simulation(workload.jobs, types, spot, scale_interval=OPTIONS["scale_interval"])
    return sim.run(PolicyScaler(choices, options))


def toils(workload: Workload, spot: SpotModel) -> RunResult:
    """Toil 9.6's ClusterScaler over the same simulator, in Toil's own virtualenv."""
    scenario: dict[str, Any] = {
        "jobs": [asdict(j) for j in workload.jobs],
        "types": [asdict(t) for t in bench_node_types()],
        "spot": asdict(spot),
        "boot_time": 120.0,
        "max_nodes": MAX_NODES,
        "min_nodes": [0] * len(MAX_NODES),
        **OPTIONS,
    }
    out = subprocess.run(
        [str(TOIL_PYTHON), str(HERE / "autoscale_toil_scaler.py"), simulator.__file__],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return RunResult(**json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    workloads = [uniform(10_000 // scale), mixed(3000 // scale), fan_out_tail(4000 // scale)]
    head = (
        f"{'workload':34} {'spot':5} {'cost ours':>9} {'Toil':>8} {'ratio':>6} {'makespan ours':>13} "
        f"{'Toil':>7} {'ratio':>6} {'retries ours':>12} {'Toil':>5} {'killed ours/Toil':>16}"
    )
    print(head)
    for workload in workloads:
        for spot in (SpotModel(), SpotModel(SPOT_MEAN_LIFE, seed=7)):
            a, b = ours(workload, spot), toils(workload, spot)
            losses = "yes" if spot.mean_life else "no"
            print(
                f"{workload.name:34} {losses:5} {a.cost:9.2f} {b.cost:8.2f} {a.cost / b.cost:6.2f} "
                f"{a.makespan:13.0f} {b.makespan:7.0f} {a.makespan / b.makespan:6.2f} "
                f"{a.retries_on_spot:12d} {b.retries_on_spot:5d} {a.killed_by_scaler:>8d}/{b.killed_by_scaler}",
                flush=True,
            )
            for who, r in (("ours", a), ("Toil", b)):
                hours = ", ".join(f"{k} {v:.2f} h" for k, v in sorted(r.node_hours.items()))
                print(
                    f"    {who}: {hours}; peak {r.peak_nodes} nodes, {r.spot_losses} spot losses, "
                    f"{r.reissued_on_notice} re-issued on notice, {r.lost_work / 3600:.2f} job-hours lost, "
                    f"{len(r.failed)} failed, finished={r.finished}",
                    file=sys.stderr if False else sys.stdout,
                )


if __name__ == "__main__":
    main()
