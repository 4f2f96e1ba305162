"""Node-hours per node type, on-demand and spot, and the run's estimated cost from the prices used."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from toil.provision.autoscale.state import NodeUsage
from toil.runtime.observe.clusterusage import ClusterUsage, NodeTypeUsage


@dataclass(frozen=True)
class TypeCost:
    """What one node type was used for and cost."""

    type_key: str
    preemptible: bool
    nodes: int
    node_hours: float
    cost: float  # dollars
    hourly: float = 0.0  # dollars per node-hour (the highest of its nodes')


@dataclass(frozen=True)
class CostReport:
    """Node-hours and estimated cost per node type, and in all."""

    types: tuple[TypeCost, ...]
    total: float

    def lines(self) -> list[str]:
        """The report as 'toil stats' prints it."""
        rows = [
            f"  {t.type_key} ({'spot' if t.preemptible else 'on-demand'}): {t.nodes} node(s), "
            f"{t.node_hours:.2f} node-hours, ${t.cost:.2f}"
            for t in self.types
        ]
        return ["Nodes launched by the autoscaler:", *rows, f"  estimated cost: ${self.total:.2f}"]

    def to_json(self) -> str:
        """The report as JSON (what --clusterStats writes)."""
        return json.dumps(asdict(self), indent=1)

    def usage(self, price_source: str, now: float) -> ClusterUsage:
        """The report as the job store's cluster usage record, which ``toil stats`` reads."""
        types = tuple(
            NodeTypeUsage(t.type_key, t.preemptible, t.nodes, t.node_hours, t.hourly, t.cost) for t in self.types
        )
        return ClusterUsage(types, self.total, price_source, now)


def cost_report(usage: Iterable[NodeUsage], now: float) -> CostReport:
    """Node-hours and cost of each type, a node still up counted until ``now``."""
    by_type: dict[tuple[str, bool], list[float]] = {}
    for node in usage:
        hours = ((node.ended if node.ended is not None else now) - node.started) / 3600
        tally = by_type.setdefault((node.type_key, node.preemptible), [0, 0.0, 0.0, 0.0])
        tally[0] += 1
        tally[1] += hours
        tally[2] += hours * node.hourly
        tally[3] = max(tally[3], node.hourly)
    types = tuple(TypeCost(k, p, int(n), h, c, r) for (k, p), (n, h, c, r) in sorted(by_type.items()))
    return CostReport(types, sum(t.cost for t in types))
