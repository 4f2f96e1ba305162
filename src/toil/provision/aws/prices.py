"""AWS's own prices: spot from EC2's spot price history in the cluster's zone, on-demand from the Price List API.

Either may be out of reach (no network, a role without ``pricing:GetProducts``, an S3-compatible stand-in):
then the offline table answers for that instance type, and ``name`` says which prices came from where.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from toil.provision.autoscale.prices import OfflinePrices, PriceSource
from toil.provision.aws.clients import describe

log = logging.getLogger(__name__)

# the Price List API answers in few regions; us-east-1 serves every region's prices
PRICE_LIST_REGION = "us-east-1"
LINUX = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
# a price is a nicety: fail fast to the table rather than hold the autoscaler up
_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=10)
_UNREACHABLE = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class AwsPrices:
    """A PriceSource asking AWS, each price once per run, the offline table where AWS gives none."""

    def __init__(self, session: boto3.session.Session, zone: str, fallback: PriceSource | None = None) -> None:
        self.session, self.zone = session, zone
        self.region = session.region_name or PRICE_LIST_REGION
        self.fallback = fallback or OfflinePrices()
        self.from_table: dict[str, str] = {}  # "c5.4xlarge on-demand" -> why AWS gave no price
        self._broken: dict[str, str] = {}  # API -> why it failed: not asked again this run

    @property
    def name(self) -> str:
        """Where the prices came from, for the cost report."""
        told = f"AWS (on-demand: Price List API for {self.region}; spot: price history in {self.zone})"
        if not self.from_table:
            return told
        return f"{told}; offline table for {', '.join(sorted(self.from_table))}"

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one source per run, a few instance types
    def on_demand(self, instance_type: str) -> float | None:
        """The on-demand Linux price of the instance type in the region."""
        found = self._ask("pricing", instance_type, "on-demand", lambda: self._list_price(instance_type))
        return found if found is not None else self.fallback.on_demand(instance_type)

    @functools.lru_cache(maxsize=None)  # noqa: B019
    def spot(self, instance_type: str) -> float | None:
        """The newest Linux spot price of the instance type in the zone."""
        found = self._ask("ec2", instance_type, "spot", lambda: self._spot_price(instance_type))
        return found if found is not None else self.fallback.spot(instance_type)

    def _ask(self, api: str, instance_type: str, kind: str, call: Any) -> float | None:
        label = f"{instance_type} {kind}"
        if api in self._broken:
            self.from_table[label] = self._broken[api]
            return None
        try:
            price: float | None = call()
        except _UNREACHABLE as e:
            self._broken[api] = describe(e)
            log.warning("No %s price from AWS (%s): the offline table's is used", kind, self._broken[api])
            price = None
        if price is None:
            self.from_table.setdefault(label, self._broken.get(api, "none listed"))
        return price

    # each client is made once, when first asked: making one reads its service's model (tenths of a second)
    @functools.cached_property
    def _ec2(self) -> Any:
        return self.session.client("ec2", config=_CONFIG)

    @functools.cached_property
    def _pricing(self) -> Any:
        return self.session.client("pricing", region_name=PRICE_LIST_REGION, config=_CONFIG)

    def _spot_price(self, instance_type: str) -> float | None:
        answer = self._ec2.describe_spot_price_history(
            InstanceTypes=[instance_type],
            ProductDescriptions=list(LINUX),
            AvailabilityZone=self.zone,
            StartTime=datetime.datetime.now(datetime.timezone.utc),
        )
        history = sorted(answer.get("SpotPriceHistory", []), key=lambda h: str(h.get("Timestamp", "")))
        return float(history[-1]["SpotPrice"]) if history else None

    def _list_price(self, instance_type: str) -> float | None:
        filters = {
            "instanceType": instance_type,
            "regionCode": self.region,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
        }
        answer = self._pricing.get_products(
            ServiceCode="AmazonEC2",
            Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
            FormatVersion="aws_v1",
            MaxResults=10,
        )
        prices = [p for item in answer.get("PriceList", []) for p in _on_demand_hourly(item)]
        return min(prices) if prices else None


def _on_demand_hourly(item: str | dict[str, Any]) -> Iterator[float]:
    """The positive hourly USD prices of one Price List product (a JSON document, as the API gives it)."""
    product = json.loads(item) if isinstance(item, str) else item
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") == "Hrs" and usd is not None and float(usd) > 0:
                yield float(usd)
