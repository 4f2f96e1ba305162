"""The nodes an autoscaled workflow ran on and what they cost: a typed, versioned record in the job store.

The autoscaler (toil.provision, which the runtime never imports) writes it as the job store message
``cluster-usage`` every few scaling steps and when the workflow ends; ``toil stats`` and its HTML report read it.
It lives and dies with the job store (``--clean`` removes it with everything else)::

    {"version": 1, "types": [{"node_type", "preemptible", "nodes", "node_hours", "hourly", "cost"}],
     "total_cost", "price_source", "updated"}
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

log = logging.getLogger(__name__)

MESSAGE = "cluster-usage"
VERSION = 1


@dataclass(frozen=True)
class NodeTypeUsage:
    """The nodes of one type the autoscaler launched: how many, their node-hours, price and cost (dollars)."""

    node_type: str  # as in --nodeTypes: "t2.large", "t2.large:0.05" (spot with a bid)
    preemptible: bool
    nodes: int
    node_hours: float
    hourly: float  # dollars per node-hour
    cost: float

    def line(self) -> str:
        """One line of ``toil stats``."""
        kind = "spot" if self.preemptible else "on-demand"
        return (
            f"  {self.node_type} ({kind}): {self.nodes} node{'s' if self.nodes != 1 else ''}, "
            f"{self.node_hours:.2f} node-hours at ${hourly_text(self.hourly)}/hour, ${self.cost:.2f}"
        )


def hourly_text(dollars: float) -> str:
    """An hourly price to four places, six when it is under a tenth of a cent."""
    return f"{dollars:.4f}" if dollars >= 0.001 or dollars == 0 else f"{dollars:.6f}"


@dataclass(frozen=True)
class ClusterUsage:
    """Node-hours and estimated cost of every node type an autoscaled run used, and the prices' source."""

    types: tuple[NodeTypeUsage, ...]
    total_cost: float
    price_source: str
    updated: float  # when it was written (seconds since the epoch)

    def lines(self) -> list[str]:
        """The ``Cluster`` section of ``toil stats``."""
        head = f"Cluster: estimated cost ${self.total_cost:.2f} (prices: {self.price_source})"
        return [head, *(t.line() for t in self.types)]

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data (what ``toil stats --raw`` prints under ``cluster``)."""
        return {"version": VERSION, **asdict(self)}

    def to_json(self) -> bytes:
        """The record as the job store holds it."""
        return json.dumps(self.to_dict(), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ClusterUsage:
        """A record written by ``to_json``; ValueError if it is damaged or of a version this one cannot read."""
        try:
            raw = json.loads(data)
            if raw.get("version") != VERSION:
                raise ValueError(f"version {raw.get('version')!r}, this toil reads version {VERSION}")
            types = tuple(_type_usage(t) for t in raw["types"])
            return cls(types, float(raw["total_cost"]), str(raw["price_source"]), float(raw["updated"]))
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"not a cluster usage record ({e!r})") from None


def _type_usage(raw: dict[str, Any]) -> NodeTypeUsage:
    """One node type's entry, its fields checked."""
    return NodeTypeUsage(
        str(raw["node_type"]),
        bool(raw["preemptible"]),
        int(raw["nodes"]),
        float(raw["node_hours"]),
        float(raw["hourly"]),
        float(raw["cost"]),
    )


def write_cluster_usage(job_store: JobStore, usage: ClusterUsage) -> None:
    """Replace the job store's cluster usage record."""
    job_store.write_message(MESSAGE, usage.to_json())


def read_cluster_usage(job_store: JobStore) -> ClusterUsage | None:
    """The job store's cluster usage record; None if there is none (or it cannot be read, which is logged)."""
    try:
        data = job_store.read_message(MESSAGE)
    except KeyError:
        return None
    try:
        return ClusterUsage.from_json(data)
    except ValueError as e:
        log.warning("Ignoring the cluster usage record of %s: %s", job_store.locator, e)
        return None
