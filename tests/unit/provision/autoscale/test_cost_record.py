"""The driver's node-hours and cost, handed on as the job store's cluster usage record while the run goes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from toil.provision.autoscale.cost import CostReport, cost_report
from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.policy import PolicyOptions
from toil.provision.autoscale.state import NodeUsage, ScalerState
from toil.runtime.observe.clusterusage import ClusterUsage, NodeTypeUsage

SPOT = NodeUsage("i-1", "t2.large:0.05", True, 0.05, 0.0, 1800.0)
SPOT2 = NodeUsage("i-2", "t2.large:0.05", True, 0.05, 0.0)
ON_DEMAND = NodeUsage("i-3", "t2.large", False, 0.0928, 0.0, 3600.0)


def test_the_report_becomes_a_usage_record_per_type_with_its_price() -> None:
    usage = cost_report([SPOT, SPOT2, ON_DEMAND], now=3600.0).usage("offline", 3600.0)
    assert usage == ClusterUsage(
        (
            NodeTypeUsage("t2.large", False, 1, 1.0, 0.0928, pytest.approx(0.0928)),  # type: ignore[arg-type]
            NodeTypeUsage("t2.large:0.05", True, 2, 1.5, 0.05, pytest.approx(0.075)),  # type: ignore[arg-type]
        ),
        pytest.approx(0.1678),  # type: ignore[arg-type]
        "offline",
        3600.0,
    )


def _driver(records: list[tuple[CostReport, float]], usage: tuple[NodeUsage, ...]) -> AutoscaleDriver:
    driver = AutoscaleDriver(cast(Any, None), [], PolicyOptions(), ScalerState(usage=usage))
    driver.record = lambda report, now: records.append((report, now))
    driver.record_every = 60.0
    return driver


def test_the_driver_records_when_nodes_change_every_minute_and_at_the_end() -> None:
    records: list[tuple[CostReport, float]] = []
    driver = _driver(records, (SPOT2,))
    driver._record(10.0)
    driver._record(20.0)  # nothing changed, too soon
    assert [now for _, now in records] == [10.0]
    driver._record(71.0)  # a minute on
    driver.state = replace(driver.state, usage=(SPOT2, ON_DEMAND))
    driver._record(72.0)  # a node came
    driver._record(73.0, force=True)  # the end
    assert [now for _, now in records] == [10.0, 71.0, 72.0, 73.0]
    assert records[-1][0].types[0].nodes == 1 and len(records[-1][0].types) == 2


def test_nothing_is_recorded_without_nodes_and_a_failed_record_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records: list[tuple[CostReport, float]] = []
    _driver(records, ())._record(1.0, force=True)
    assert records == []
    driver = _driver(records, (SPOT2,))

    def broken(report: CostReport, now: float) -> None:
        raise OSError("job store gone")

    driver.record = broken
    driver._record(1.0)
    assert "could not record" in caplog.text
