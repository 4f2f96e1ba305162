"""Replays on the deterministic simulator: the policy and driver finish workloads, spot losses spend no retries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.policy import PolicyOptions
from toil.provision.autoscale.prices import GIB
from toil.provision.autoscale.simulated import PolicyScaler, SimulatedBackend, node_choice
from toil.provision.autoscale.simulator import SimJob, SimNode, Simulation, SpotModel
from toil.provision.autoscale.workloads import bench_node_types, fan_out_tail, mixed, uniform

OPTIONS = PolicyOptions(assume_zero_overhead=True)
MAX = [6, 6, 2]


def replay(
    jobs: list[SimJob],
    spot: SpotModel | None = None,
    honour: bool = True,
    settle: bool = True,
    options: PolicyOptions = OPTIONS,
) -> Simulation:
    types = bench_node_types()
    sim = Simulation(jobs, types, spot or SpotModel(), honour_notices=honour)
    scaler = PolicyScaler([node_choice(t, 0, m) for t, m in zip(types, MAX)], options)
    sim.run(scaler if settle else _StepsOnly(scaler))
    return sim


class _Delegating:
    """A Scaler that hands everything to a PolicyScaler (subclasses change one thing)."""

    def __init__(self, scaler: PolicyScaler) -> None:
        self.scaler = scaler

    def tick(self, sim: Simulation) -> None:
        self.scaler.tick(sim)

    def settle(self, sim: Simulation) -> None:
        self.scaler.settle(sim)

    def job_finished(self, job: SimJob, wall_time: float) -> None:
        self.scaler.job_finished(job, wall_time)

    def finish(self, sim: Simulation) -> None:
        self.scaler.finish(sim)

    def on_notice(self, sim: Simulation, node: SimNode) -> list[int]:
        return self.scaler.on_notice(sim, node)


class _StepsOnly(_Delegating):
    """A PolicyScaler that acts at its steps only, never between them."""

    def settle(self, sim: Simulation) -> None:
        pass


def test_uniform_workload_finishes_and_leaves_no_node() -> None:
    sim = replay(uniform(500).jobs)
    r = sim.result
    assert r.finished and r.completed == 500 and r.left_running == 0 and r.killed_by_scaler == 0
    assert all(n.state == "gone" for n in sim.nodes.values())
    assert 0 < r.cost < 1.0 and r.makespan < 1800


def test_replays_are_deterministic() -> None:
    a = replay(mixed(200, 2).jobs, SpotModel(1800.0, seed=3)).result
    b = replay(mixed(200, 2).jobs, SpotModel(1800.0, seed=3)).result
    assert a == b


def test_spot_losses_reissue_on_notice_and_spend_no_retry() -> None:
    r = replay(uniform(2000, runtime=300.0).jobs, SpotModel(900.0, seed=1)).result
    assert r.finished and r.spot_losses > 0 and r.reissued_on_notice > 0
    assert r.retries_on_spot == 0 and r.killed_by_scaler == 0


def test_without_notices_every_job_lost_with_a_node_spends_a_retry() -> None:
    r = replay(uniform(2000, runtime=300.0).jobs, SpotModel(900.0, seed=1), honour=False).result
    assert r.finished and r.retries_on_spot > 0


def test_the_tail_after_a_fan_out_runs_on_few_nodes() -> None:
    r = replay(fan_out_tail(300, 4).jobs).result
    assert r.finished and r.completed == 305
    assert r.node_hours.get("c5.4xlarge on-demand", 0.0) == 0.0  # preemptible jobs stay on spot


def test_surplus_nodes_go_when_they_go_idle_not_at_the_next_step() -> None:
    jobs = uniform(1500, runtime=45.0).jobs  # jobs end between the 60 s steps
    settling, stepping = replay(jobs).result, replay(jobs, settle=False).result
    assert settling.finished and stepping.finished and settling.completed == stepping.completed == 1500
    assert settling.idle_seconds < stepping.idle_seconds / 2
    assert settling.cost < stepping.cost and settling.killed_by_scaler == 0


def test_a_node_under_notice_goes_once_its_last_job_ends() -> None:
    spot = SpotModel(900.0, seed=1)
    settling = replay(uniform(2000, runtime=45.0).jobs, spot)
    stepping = replay(uniform(2000, runtime=45.0).jobs, spot, settle=False)
    assert settling.result.spot_losses > 0 and settling.result.retries_on_spot == 0
    assert settling.result.idle_seconds < stepping.result.idle_seconds


def test_beside_a_type_held_at_its_maximum_the_others_keep_its_pace_and_no_more() -> None:
    jobs = mixed(1000, 8).jobs  # 8 large-memory jobs for 2 nodes set the run's length
    paced = replay(jobs).result
    unpaced = replay(jobs, options=replace(OPTIONS, stretch_to_bottleneck=False)).result
    assert paced.finished and paced.completed == unpaced.completed == 1008 and paced.killed_by_scaler == 0
    assert paced.cost < unpaced.cost and paced.makespan <= unpaced.makespan


def test_while_keeping_pace_preemptible_jobs_never_spill_onto_on_demand_nodes() -> None:
    r = replay(mixed(3000, 8).jobs).result  # the spot type is at its maximum too
    assert r.finished and r.node_hours.get("c5.4xlarge on-demand", 0.0) == 0.0


def test_a_job_too_big_for_every_type_fails_at_once_and_the_rest_finish() -> None:
    jobs = [SimJob(0, "huge", 64, GIB, GIB, 10.0, True), *uniform(20).jobs[1:]]
    r = replay(jobs).result
    assert r.finished and r.completed == 19
    assert len(r.failed) == 1 and r.failed[0].startswith("job huge needs 64 cores")


def test_static_nodes_stay_and_the_driver_state_survives_a_restart(tmp_path: Path) -> None:
    types = bench_node_types()
    sim = Simulation(uniform(200).jobs, types, static={types[1].key: 1})
    choices = [node_choice(t, 0, m) for t, m in zip(types, MAX)]
    path = tmp_path / "autoscale.json"
    driver = AutoscaleDriver(SimulatedBackend(sim), choices, OPTIONS, state_path=path)
    driver.step(0.0)
    launched = driver.state.launched
    assert launched and all(not sim.nodes[n].static for n in launched)
    again = AutoscaleDriver.resume(SimulatedBackend(sim), choices, OPTIONS, path)
    assert again.state == driver.state
    again.shutdown()
    assert [n.name for n in sim.live_nodes()] == [n.name for n in sim.nodes.values() if n.static]


def test_the_drivers_node_hours_and_cost_match_the_simulators_bill(tmp_path: Path) -> None:
    types = bench_node_types()
    sim = Simulation(mixed(300, 2).jobs, types)
    scaler = PolicyScaler([node_choice(t, 0, m) for t, m in zip(types, MAX)], OPTIONS)
    scaler_driver_stats = tmp_path / "cluster-stats.json"
    sim.run(_WithStats(scaler, scaler_driver_stats))
    assert scaler.driver is not None
    report = scaler.driver.costs(sim.now)
    assert report.total == pytest.approx(sim.result.cost)
    hours = {
        f"{t.type_key.split(':')[0]} {'spot' if t.preemptible else 'on-demand'}": t.node_hours for t in report.types
    }
    assert hours == pytest.approx(sim.result.node_hours)
    assert json.loads(scaler_driver_stats.read_text())["total"] == pytest.approx(sim.result.cost)
    assert report.lines()[-1].startswith("  estimated cost: $")


class _WithStats(_Delegating):
    """A PolicyScaler whose driver writes --clusterStats."""

    def __init__(self, scaler: PolicyScaler, path: Path) -> None:
        super().__init__(scaler)
        self.path = path

    def tick(self, sim: Simulation) -> None:
        self.scaler.tick(sim)
        assert self.scaler.driver is not None
        self.scaler.driver.stats_path = self.path
