"""The autoscaling policy: packing onto the cheapest type, min and max, draining, spot, unfit jobs, its state."""

from __future__ import annotations

from toil.provision.autoscale.policy import (
    BOOTING,
    DRAINING,
    NOTICE,
    UP,
    Completion,
    JobDemand,
    NodeChoice,
    NodeStatus,
    PolicyOptions,
    decide,
    reissue_on_notice,
)
from toil.provision.autoscale.prices import OfflinePrices, hourly_price
from toil.provision.autoscale.state import NodeUsage, ScalerState

GIB = 1024**3
SPOT = NodeChoice("c5.4xlarge:0.4", "c5.4xlarge", 16, 32 * GIB, 50 * GIB, 0.238, preemptible=True, max_count=5)
ON_DEMAND = NodeChoice("c5.4xlarge", "c5.4xlarge", 16, 32 * GIB, 50 * GIB, 0.68, max_count=5)
BIG = NodeChoice("r5.4xlarge", "r5.4xlarge", 16, 128 * GIB, 50 * GIB, 1.008, max_count=2)
ZERO = PolicyOptions(assume_zero_overhead=True)


def job(name: str = "j", cores: float = 1, memory: int = GIB, preemptible: bool = False, **kw: object) -> JobDemand:
    return JobDemand(name, cores, memory, GIB, preemptible=preemptible, **kw)  # type: ignore[arg-type]


def test_packs_queued_jobs_onto_the_cheapest_fitting_type_to_drain_within_target_time() -> None:
    jobs = [job("a", preemptible=True)] * 64
    state = ScalerState().learn("a", 900.0)
    decision = decide(0.0, jobs, [], [ON_DEMAND, SPOT, BIG], ZERO, state)
    # 64 jobs x 900 s on 16 slots = 3600 node-seconds: 2 nodes within 1800 s, on spot (cheapest per slot)
    assert [(launch.key, launch.count) for launch in decision.launch] == [("c5.4xlarge:0.4", 2)]


def test_never_more_nodes_than_jobs_can_use_at_once() -> None:
    jobs = [job("slow")] * 3
    decision = decide(0.0, jobs, [], [ON_DEMAND], ZERO, ScalerState().learn("slow", 10 * 3600.0))
    assert decision.wanted["c5.4xlarge"] == 1


def test_large_memory_jobs_go_to_the_type_that_fits_them() -> None:
    decision = decide(0.0, [job("big", memory=100 * GIB)], [], [ON_DEMAND, BIG], ZERO, ScalerState())
    assert decision.wanted == {"c5.4xlarge": 0, "r5.4xlarge": 1}


def test_the_maximum_is_never_exceeded_and_the_minimum_is_kept() -> None:
    many = [job("x")] * 10_000
    capped = decide(0.0, many, [], [ON_DEMAND], ZERO, ScalerState())
    assert capped.launch[0].count == 5
    floor = NodeChoice("c5.large", "c5.large", 2, 4 * GIB, 50 * GIB, 0.085, min_count=2, max_count=4)
    assert decide(0.0, [], [], [floor], ZERO, ScalerState()).launch[0].count == 2


def test_idle_surplus_nodes_are_retired_busy_and_static_ones_never() -> None:
    nodes = [
        NodeStatus("busy", "c5.4xlarge", UP, busy=True),
        NodeStatus("idle", "c5.4xlarge", UP),
        NodeStatus("static", "c5.4xlarge", UP, static=True),
    ]
    decision = decide(0.0, [], nodes, [ON_DEMAND], ZERO, ScalerState())
    assert decision.retire == ("idle",)


def test_a_draining_node_is_taken_back_before_launching() -> None:
    nodes = [NodeStatus("d", "c5.4xlarge", DRAINING, busy=True)]
    decision = decide(0.0, [job("a")] * 40, nodes, [ON_DEMAND], ZERO, ScalerState().learn("a", 1800.0))
    assert decision.undrain == ("d",)
    assert decision.launch[0].count == 2  # 40 one-core 30-minute jobs: 3 nodes, one of them taken back


def test_a_node_under_preemption_notice_is_not_capacity_and_is_removed_when_idle() -> None:
    nodes = [NodeStatus("n", SPOT.key, NOTICE), NodeStatus("m", SPOT.key, NOTICE, busy=True)]
    jobs = [job("a", preemptible=True, node="m", running_for=30.0)]
    decision = decide(0.0, jobs, nodes, [SPOT], ZERO, ScalerState().learn("a", 600.0))
    assert decision.retire == ("n",)
    assert decision.launch[0].count == 1  # the job on the doomed node runs again elsewhere


def test_preemptible_jobs_do_not_spill_onto_on_demand_without_compensation() -> None:
    jobs = [job("a", preemptible=True)] * 10_000
    decision = decide(0.0, jobs, [], [SPOT, ON_DEMAND], ZERO, ScalerState().learn("a", 600.0))
    assert decision.wanted == {SPOT.key: 5, ON_DEMAND.key: 0}


def test_lost_spot_capacity_is_compensated_with_on_demand_of_the_same_type() -> None:
    options = PolicyOptions(assume_zero_overhead=True, preemptible_compensation=0.5)
    state = ScalerState(estimates={SPOT.key: 4.0}).learn("a", 1800.0)
    nodes = [NodeStatus("s1", SPOT.key, UP, busy=True), NodeStatus("s2", SPOT.key, NOTICE, busy=True)]
    jobs = [job("a", preemptible=True)] * 64
    decision = decide(0.0, jobs, nodes, [SPOT, ON_DEMAND], options, state)
    assert decision.state.spot_deficit == {"c5.4xlarge": 3}
    assert decision.wanted[ON_DEMAND.key] == 2  # round(3 x 0.5)


def test_a_job_that_fits_nowhere_gets_one_line_naming_it_its_needs_and_the_largest_node() -> None:
    decision = decide(0.0, [job("huge", cores=64, id="7")], [], [ON_DEMAND, BIG], ZERO, ScalerState())
    (unfit,) = decision.unfit
    assert unfit.job == "7"
    assert "\n" not in unfit.message
    assert unfit.message.startswith("job huge needs 64 cores, 1 GiB memory, 1 GiB disk")
    assert "the largest is r5.4xlarge (16 cores, 128 GiB memory" in unfit.message


def test_non_preemptible_job_with_only_spot_types_is_unfit() -> None:
    decision = decide(0.0, [job("od")], [], [SPOT], ZERO, ScalerState())
    assert "not preemptible" in decision.unfit[0].message


def test_run_times_are_learned_per_name_and_scale_down_is_smoothed() -> None:
    state = decide(0.0, [], [], [ON_DEMAND], ZERO, ScalerState(), [Completion("a", 10.0), Completion("a", 30.0)]).state
    assert state.runtimes["a"].mean == 20.0 and state.overall.count == 2
    options = PolicyOptions(assume_zero_overhead=True, beta_inertia=0.5)
    high = ScalerState(estimates={ON_DEMAND.key: 4.0})
    assert decide(0.0, [], [], [ON_DEMAND], options, high).state.estimates[ON_DEMAND.key] == 2.0


def test_overhead_is_reserved_unless_assumed_zero() -> None:
    exact = NodeChoice("m", "m5.large", 2, 8 * GIB, 50 * GIB, 0.096)
    needy = job("a", memory=8 * GIB)
    assert decide(0.0, [needy], [], [exact], ZERO, ScalerState()).unfit == ()
    assert decide(0.0, [needy], [], [exact], PolicyOptions(), ScalerState()).unfit != ()


def test_booting_nodes_count_and_are_retired_after_idle_up_ones() -> None:
    nodes = [NodeStatus("b", ON_DEMAND.key, BOOTING), NodeStatus("u", ON_DEMAND.key, UP)]
    decision = decide(0.0, [job("a")], nodes, [ON_DEMAND], ZERO, ScalerState().learn("a", 60.0))
    assert decision.launch == () and decision.retire == ("u",)


def test_state_round_trips_through_json() -> None:
    usage = (NodeUsage("n1", "c5.4xlarge", False, 0.68, 10.0), NodeUsage("n0", "x:0.2", True, 0.2, 0.0, 5.0))
    state = ScalerState(estimates={"x": 1.5}, spot_deficit={"c5": 2}, launched=("n1",), usage=usage).learn("a", 3.0)
    assert state.usage == usage
    assert ScalerState.from_json(state.to_json()) == state


def test_prices_offline_and_capped_at_the_bid() -> None:
    prices = OfflinePrices()
    assert hourly_price("c5.4xlarge", None, prices) == 0.68
    assert hourly_price("c5.4xlarge", 0.1, prices) == 0.1
    assert hourly_price("c5.4xlarge", 1.0, prices) == prices.spot("c5.4xlarge")


def test_on_notice_only_jobs_that_would_not_finish_are_reissued() -> None:
    state = ScalerState().learn("short", 60.0).learn("long", 3000.0)
    on_node = [job("short", running_for=30.0, id="1"), job("long", running_for=100.0, id="2")]
    assert reissue_on_notice(on_node, state, ZERO, 120.0) == ("2",)


def test_a_job_fitting_only_beside_a_large_one_rides_on_the_large_node() -> None:
    state = ScalerState().learn("big", 1800.0).learn("small", 60.0)
    jobs = [job("big", cores=4, memory=100 * GIB), job("small", memory=GIB)]
    decision = decide(0.0, jobs, [], [ON_DEMAND, BIG], ZERO, state)
    assert decision.wanted == {"c5.4xlarge": 0, "r5.4xlarge": 1}


def test_busy_surplus_nodes_are_drained_only_while_a_type_at_its_maximum_sets_the_pace() -> None:
    state = ScalerState().learn("large", 1200.0).learn("small", 150.0)
    small = [job("small", preemptible=True, node=f"s{i}", running_for=60.0) for i in range(4)]
    large = [job("large", cores=4, memory=100 * GIB, preemptible=True, node=f"b{i}", running_for=60.0) for i in (0, 1)]
    nodes = [NodeStatus(f"s{i}", SPOT.key, UP, busy=True) for i in range(4)]
    nodes += [NodeStatus(f"b{i}", BIG.key, UP, busy=True) for i in (0, 1)] + [NodeStatus("idle", SPOT.key, UP)]
    waiting = [job("large", cores=4, memory=100 * GIB, preemptible=True) for _ in range(6)]
    paced = decide(0.0, small + large + waiting, nodes, [SPOT, BIG], ZERO, state)
    assert paced.wanted[BIG.key] == BIG.max_count and paced.wanted[SPOT.key] < 4
    assert paced.retire == ("idle",) and len(paced.drain) == 4 - paced.wanted[SPOT.key]
    assert set(paced.drain) <= {"s0", "s1", "s2", "s3"}  # busy spot nodes: they finish their jobs, then go
    unpaced = decide(0.0, small + large, nodes, [SPOT, BIG], ZERO, state)  # the large ones need no more than 2
    assert unpaced.drain == () and unpaced.retire == ("idle",)


def test_the_others_keep_the_queue_moving_to_the_next_job_for_the_type_at_its_maximum() -> None:
    state = ScalerState().learn("large", 1200.0).learn("small", 150.0)
    large = [job("large", cores=4, memory=100 * GIB, preemptible=True, node=f"b{i}", running_for=600.0) for i in (0, 1)]
    nodes = [NodeStatus(f"b{i}", BIG.key, UP, busy=True) for i in (0, 1)]
    nodes += [NodeStatus(f"s{i}", SPOT.key, UP, busy=True) for i in range(12)]
    spot = NodeChoice(**{**SPOT.__dict__, "max_count": 20})
    running = [job("small", preemptible=True, node=f"s{i}", running_for=10.0) for i in range(12)]
    smalls = [job("small", preemptible=True) for _ in range(640)]  # 640 x 150 s / 16 cores = 6000 node-seconds
    bigs = [job("large", cores=4, memory=100 * GIB, preemptible=True) for _ in range(4)]
    behind = decide(0.0, running + large + smalls + bigs, nodes, [spot, BIG], ZERO, state)
    # the first two large jobs get a slot in 600 s: the 640 small jobs ahead of them must have started by then
    assert behind.wanted[spot.key] == 10 and len(behind.drain) == 2
    ahead = decide(0.0, running + large + bigs + smalls, nodes, [spot, BIG], ZERO, state)
    assert ahead.wanted[spot.key] < 10 and len(ahead.drain) == 12 - ahead.wanted[spot.key]
