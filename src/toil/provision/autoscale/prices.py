"""Instance shapes and hourly prices: an offline table, and a hook for a provider's live prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

GIB = 1024**3
# what spot capacity costs against on-demand when no provider price is known (AWS's long-run average is 30-40%)
SPOT_FRACTION = 0.35


@dataclass(frozen=True)
class InstanceShape:
    """What one instance type offers and costs on demand (dollars per hour, us-east-1/us-west-2 list price)."""

    name: str
    cores: float
    memory: int  # bytes
    on_demand: float
    accelerators: int = 0


def _shape(name: str, cores: float, memory_gib: float, price: float, accelerators: int = 0) -> InstanceShape:
    return InstanceShape(name, cores, int(memory_gib * GIB), price, accelerators)


OFFLINE_TABLE: dict[str, InstanceShape] = {
    s.name: s
    for s in (
        _shape("t2.micro", 1, 1, 0.0116),
        _shape("t2.medium", 2, 4, 0.0464),
        _shape("t2.large", 2, 8, 0.0928),
        _shape("t2.xlarge", 4, 16, 0.1856),
        _shape("c3.large", 2, 3.75, 0.105),
        _shape("c4.8xlarge", 36, 60, 1.591),
        _shape("c5.large", 2, 4, 0.085),
        _shape("c5.xlarge", 4, 8, 0.17),
        _shape("c5.2xlarge", 8, 16, 0.34),
        _shape("c5.4xlarge", 16, 32, 0.68),
        _shape("c5a.4xlarge", 16, 32, 0.616),
        _shape("m5.large", 2, 8, 0.096),
        _shape("m5.xlarge", 4, 16, 0.192),
        _shape("m5.2xlarge", 8, 32, 0.384),
        _shape("m5.4xlarge", 16, 64, 0.768),
        _shape("r3.xlarge", 4, 30.5, 0.333),
        _shape("r3.8xlarge", 32, 244, 2.66),
        _shape("r5.large", 2, 16, 0.126),
        _shape("r5.xlarge", 4, 32, 0.252),
        _shape("r5.2xlarge", 8, 64, 0.504),
        _shape("r5.4xlarge", 16, 128, 1.008),
        _shape("g4dn.xlarge", 4, 16, 0.526, 1),
        _shape("p3.2xlarge", 8, 61, 3.06, 1),
    )
}


class PriceSource(Protocol):
    """A provider's prices (dollars per hour); None where it does not know one."""

    @property
    def name(self) -> str:
        """Where the prices come from, for the cost report."""

    def on_demand(self, instance_type: str) -> float | None:
        """The on-demand price of the instance type."""

    def spot(self, instance_type: str) -> float | None:
        """The current spot price of the instance type."""


@dataclass(frozen=True)
class OfflinePrices:
    """The offline table, spot estimated at SPOT_FRACTION of on-demand."""

    table: Mapping[str, InstanceShape] = field(default_factory=lambda: OFFLINE_TABLE)
    spot_fraction: float = SPOT_FRACTION

    @property
    def name(self) -> str:
        """Where the prices come from."""
        return f"offline table; spot {self.spot_fraction:.0%} of on-demand, at most the bid"

    def on_demand(self, instance_type: str) -> float | None:
        """The table's on-demand price."""
        found = self.table.get(instance_type)
        return None if found is None else found.on_demand

    def spot(self, instance_type: str) -> float | None:
        """The estimated spot price."""
        price = self.on_demand(instance_type)
        return None if price is None else round(price * self.spot_fraction, 5)


def instance_shape(instance_type: str, table: Mapping[str, InstanceShape] = OFFLINE_TABLE) -> InstanceShape:
    """The shape of an instance type; KeyError naming the known ones if the table lacks it."""
    try:
        return table[instance_type]
    except KeyError:
        raise KeyError(f"no shape known for instance type {instance_type!r}: known are {', '.join(table)}") from None


def hourly_price(instance_type: str, spot_bid: float | None, prices: PriceSource) -> float:
    """What a node costs per hour: on-demand, or the spot price capped at the bid (the bid if no price is known)."""
    if spot_bid is None:
        price = prices.on_demand(instance_type)
        if price is None:
            raise KeyError(f"no on-demand price known for {instance_type!r}")
        return price
    spot = prices.spot(instance_type)
    return spot_bid if spot is None else min(spot, spot_bid)
