"""The workloads the simulator replays in tests and the benchmark, and the node types they run on."""

from __future__ import annotations

from dataclasses import dataclass

from toil.provision.autoscale.prices import GIB, OfflinePrices, instance_shape
from toil.provision.autoscale.simulator import SimJob, SimNodeType


@dataclass(frozen=True)
class Workload:
    """A named list of jobs."""

    name: str
    jobs: list[SimJob]


def node_type(instance_type: str, spot: bool = False, disk_gb: int = 50) -> SimNodeType:
    """A simulated node type from the offline table (spot at the table's estimated spot price)."""
    shape, prices = instance_shape(instance_type), OfflinePrices()
    hourly = prices.spot(instance_type) if spot else prices.on_demand(instance_type)
    assert hourly is not None
    key = f"{instance_type}:{hourly}" if spot else instance_type
    return SimNodeType(key, instance_type, shape.cores, shape.memory, disk_gb * GIB, hourly, spot, shape.accelerators)


def uniform(count: int = 10_000, runtime: float = 60.0, preemptible: bool = True) -> Workload:
    """``count`` one-core jobs of ``runtime`` seconds, all ready at once."""
    jobs = [SimJob(i, "uniform", 1, 1 * GIB, 1 * GIB, runtime, preemptible) for i in range(count)]
    return Workload(f"{count} x 1 core {runtime:g} s", jobs)


def mixed(small: int = 3000, large: int = 8, preemptible: bool = True) -> Workload:
    """Many small jobs with a few large-memory ones among them."""
    jobs: list[SimJob] = []
    every, placed = max(1, small // max(1, large)), 0
    for i in range(small + large):
        if i % (every + 1) == every and placed < large:
            placed += 1
            jobs.append(SimJob(i, "large", 4, 100 * GIB, 10 * GIB, 1200.0, preemptible))
        else:
            jobs.append(SimJob(i, "small", 1, 2 * GIB, 1 * GIB, 90.0 + 30.0 * (i % 5), preemptible))
    return Workload(f"{small} small + {large} x 100 GiB", jobs)


def fan_out_tail(width: int = 4000, tail: int = 12, preemptible: bool = True) -> Workload:
    """A root, a wide fan-out of short jobs, then a few slow jobs that wait for all of them."""
    jobs = [SimJob(0, "root", 1, 1 * GIB, 1 * GIB, 30.0, preemptible)]
    jobs += [SimJob(i, "scatter", 1, 2 * GIB, 1 * GIB, 45.0, preemptible, (0,)) for i in range(1, width + 1)]
    fan = tuple(range(1, width + 1))
    jobs += [SimJob(width + 1 + k, "slow", 1, 4 * GIB, 1 * GIB, 2700.0, preemptible, fan) for k in range(tail)]
    return Workload(f"fan-out {width} + tail {tail} x 45 min", jobs)


def bench_node_types(general_spot: bool = False) -> list[SimNodeType]:
    """Spot and on-demand compute nodes, on-demand large-memory nodes; with ``general_spot``, spot m5 nodes too."""
    types = [node_type("c5.4xlarge", spot=True), node_type("c5.4xlarge"), node_type("r5.4xlarge")]
    return types + [node_type("m5.4xlarge", spot=True)] if general_spot else types
