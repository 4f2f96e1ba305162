"""Autoscaling on the simulator: this project's policy beside Toil 9.6's ClusterScaler, cost and makespan.

Three workloads, each without and with spot losses (the losses averaged over --seeds seeds: one seed is a lottery),
on one menu of node types (--all-menus: two), replayed by src/toil/provision/autoscale/simulator.py. Toil's
ClusterScaler runs in bench/toil-venv (bench/autoscale_toil_scaler.py) over the same simulator file, without
interruption notices (Toil reads none).
Run: .venv/bin/python bench/autoscale_sim.py [--quick] [--seeds N] [--all-menus] [--only WORKLOAD ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toil.provision.autoscale import simulator
from toil.provision.autoscale.policy import PolicyOptions
from toil.provision.autoscale.simulated import PolicyScaler, node_choice
from toil.provision.autoscale.simulator import RunResult, SimNodeType, Simulation, SpotModel
from toil.provision.autoscale.workloads import Workload, bench_node_types, fan_out_tail, mixed, uniform

HERE = Path(__file__).resolve().parent
TOIL_PYTHON = HERE / "toil-venv" / "bin" / "python"
SPOT_MEAN_LIFE = 3600.0  # seconds: an aggressive interruption rate, so losses happen within each run
OPTIONS = {"target_time": 1800, "beta_inertia": 0.1, "preemptible_compensation": 0.0, "scale_interval": 60}


@dataclass(frozen=True)
class Menu:
    """Node types offered, with their maximum counts (--nodeTypes, --maxNodes)."""

    name: str
    types: list[SimNodeType]
    max_nodes: list[int]


MENUS = [
    Menu("c5:spot,c5,r5", bench_node_types(), [20, 20, 4]),
    Menu("c5:spot,c5,r5,m5:spot", bench_node_types(general_spot=True), [20, 20, 4, 20]),
]


def ours(workload: Workload, spot: SpotModel, menu: Menu) -> RunResult:
    """This project's policy and driver over the simulator."""
    choices = [node_choice(t, 0, m) for t, m in zip(menu.types, menu.max_nodes)]
    options = PolicyOptions(
        target_time=OPTIONS["target_time"],
        beta_inertia=OPTIONS["beta_inertia"],
        preemptible_compensation=OPTIONS["preemptible_compensation"],
        assume_zero_overhead=True,
    )
    sim = Simulation(workload.jobs, menu.types, spot, scale_interval=OPTIONS["scale_interval"])
    return sim.run(PolicyScaler(choices, options))


def toils(workload: Workload, spot: SpotModel, menu: Menu) -> RunResult:
    """Toil 9.6's ClusterScaler over the same simulator, in Toil's own virtualenv."""
    scenario: dict[str, Any] = {
        "jobs": [asdict(j) for j in workload.jobs],
        "types": [asdict(t) for t in menu.types],
        "spot": asdict(spot),
        "boot_time": 120.0,
        "max_nodes": menu.max_nodes,
        "min_nodes": [0] * len(menu.max_nodes),
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


@dataclass
class Pair:
    """Ours and Toil's results over the same seeds."""

    ours: list[RunResult]
    toil: list[RunResult]

    def mean(self, who: str, what: str) -> float:
        runs = self.ours if who == "ours" else self.toil
        return statistics.mean(float(getattr(r, what)) for r in runs)


def row(workload: Workload, menu: Menu, losses: bool, pair: Pair) -> str:
    """One line of the table."""
    cost_a, cost_b = pair.mean("ours", "cost"), pair.mean("toil", "cost")
    span_a, span_b = pair.mean("ours", "makespan"), pair.mean("toil", "makespan")
    return (
        f"{workload.name:32} {menu.name:22} {'yes' if losses else 'no':4} {cost_a:7.2f} {cost_b:7.2f} "
        f"{cost_a / cost_b:5.3f} {span_a:7.0f} {span_b:7.0f} {span_a / span_b:5.2f} "
        f"{pair.mean('ours', 'retries_on_spot'):6.0f} {pair.mean('toil', 'retries_on_spot'):6.0f} "
        f"{pair.mean('ours', 'spot_losses'):4.1f}/{pair.mean('toil', 'spot_losses'):<4.1f} "
        f"{pair.mean('ours', 'lost_work') / 3600:5.2f}/{pair.mean('toil', 'lost_work') / 3600:<5.2f} "
        f"{pair.mean('ours', 'launched'):4.0f}/{pair.mean('toil', 'launched'):<4.0f} "
        f"{pair.mean('ours', 'idle_seconds') / 3600:5.2f}/{pair.mean('toil', 'idle_seconds') / 3600:<5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="workloads a tenth the size")
    parser.add_argument("--seeds", type=int, default=10, help="spot-loss seeds to average over (default 10)")
    parser.add_argument("--all-menus", action="store_true", help="also the menu with spot m5 nodes")
    parser.add_argument("--only", choices=["uniform", "mixed", "fan-out"], action="append", help="these workloads")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    named = {"uniform": uniform(10_000 // scale), "mixed": mixed(3000 // scale), "fan-out": fan_out_tail(4000 // scale)}
    workloads = [w for name, w in named.items() if not args.only or name in args.only]
    print(
        f"{'workload':32} {'node types':22} {'loss':4} {'$ ours':>7} {'$ Toil':>7} {'ratio':>5} "
        f"{'s ours':>7} {'s Toil':>7} {'ratio':>5} {'retry ours':>6} {'Toil':>6} {'lost nodes':>9} "
        f"{'lost job-h':>11} {'launched':>9} {'idle node-h':>11}"
    )
    worst = 0.0
    for menu in MENUS if args.all_menus else MENUS[:1]:
        for workload in workloads:
            for losses in (False, True):
                seeds = (
                    [SpotModel(SPOT_MEAN_LIFE, seed=s) for s in range(1, args.seeds + 1)] if losses else [SpotModel()]
                )
                pair = Pair([ours(workload, s, menu) for s in seeds], [toils(workload, s, menu) for s in seeds])
                worst = max(worst, pair.mean("ours", "cost") / pair.mean("toil", "cost"))
                print(row(workload, menu, losses, pair), flush=True)
    print(f"costs in dollars (means over seeds with losses), makespans in seconds; worst cost ratio {worst:.2f}")


if __name__ == "__main__":
    main()
