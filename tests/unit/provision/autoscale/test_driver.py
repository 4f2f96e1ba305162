"""The driver between its steps: surplus nodes go as soon as they are idle, unless queued jobs could use them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace

from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.policy import NOTICE, UP, JobDemand, NodeChoice, NodeStatus, PolicyOptions

GIB = 1024**3
SPOT = NodeChoice("c5.4xlarge:0.4", "c5.4xlarge", 16, 32 * GIB, 50 * GIB, 0.238, preemptible=True, max_count=5)


class Cluster:
    """An in-memory cluster: its nodes and jobs, and what the driver did to them."""

    def __init__(self) -> None:
        self.node_list: list[NodeStatus] = []
        self.job_list: list[JobDemand] = []
        self.drained: list[str] = []
        self.terminated: list[str] = []

    def jobs(self) -> list[JobDemand]:
        return list(self.job_list)

    def nodes(self) -> list[NodeStatus]:
        return list(self.node_list)

    def add_nodes(self, choice: NodeChoice, count: int) -> list[str]:
        names = [f"n{len(self.node_list) + i}" for i in range(count)]
        self.node_list += [NodeStatus(n, choice.key, UP) for n in names]
        return names

    def drain(self, name: str) -> None:
        self.drained.append(name)

    def undrain(self, name: str) -> None:
        pass

    def terminate(self, names: Sequence[str]) -> None:
        self.terminated += names
        self.node_list = [n for n in self.node_list if n.name not in names]

    def fail_job(self, job: str, message: str) -> None:
        pass

    def reissue(self, job: str) -> None:
        pass

    def set(self, name: str, **changes: object) -> None:
        self.node_list = [replace(n, **changes) if n.name == name else n for n in self.node_list]  # type: ignore[arg-type]


def job(node: str | None = None) -> JobDemand:
    return JobDemand("a", 1, GIB, GIB, preemptible=True, node=node, running_for=10.0 if node else 0.0)


def two_busy_nodes_one_wanted() -> tuple[Cluster, AutoscaleDriver]:
    """Two launched nodes each running a job; the last step wanted one node."""
    cluster = Cluster()
    driver = AutoscaleDriver(cluster, [SPOT], PolicyOptions(assume_zero_overhead=True))
    cluster.job_list = [job() for _ in range(40)]
    driver.job_finished("a", 1800.0)
    driver.step(0.0)  # 40 half-hour jobs: three nodes
    assert len(cluster.node_list) == 3
    cluster.job_list = [job("n0"), job("n1")]
    for n in ("n0", "n1"):
        cluster.set(n, busy=True)
    driver.step(60.0)  # the idle one goes; two busy ones stay, one wanted
    assert cluster.terminated == ["n2"] and driver.settle(61.0) == ()
    return cluster, driver


def test_nothing_is_retired_between_steps_before_the_first_step() -> None:
    cluster = Cluster()
    cluster.node_list = [NodeStatus("x", SPOT.key, UP)]
    driver = AutoscaleDriver(cluster, [SPOT], PolicyOptions(assume_zero_overhead=True))
    driver.state = replace(driver.state, launched=("x",))
    assert driver.settle(1.0) == () and cluster.terminated == []


def test_a_surplus_node_goes_when_its_last_job_ends() -> None:
    cluster, driver = two_busy_nodes_one_wanted()
    cluster.job_list = [job("n0")]
    cluster.set("n1", busy=False)
    assert driver.settle(90.0) == ("n1",)
    assert cluster.drained == ["n2", "n1"] and cluster.terminated == ["n2", "n1"]
    assert [u.ended for u in driver.state.usage if u.name == "n1"] == [90.0]
    cluster.set("n0", busy=False)
    cluster.job_list = []
    assert driver.settle(100.0) == ()  # the one wanted stays to the next step


def test_a_surplus_node_stays_while_a_queued_job_could_run_there() -> None:
    cluster, driver = two_busy_nodes_one_wanted()
    cluster.job_list = [job("n0"), job()]
    cluster.set("n1", busy=False)
    assert driver.settle(90.0) == () and cluster.terminated == ["n2"]


def test_an_idle_node_under_notice_goes_even_with_jobs_queued() -> None:
    cluster, driver = two_busy_nodes_one_wanted()
    cluster.job_list = [job("n0"), job()]
    cluster.set("n1", busy=False, state=NOTICE)
    assert driver.settle(90.0) == ("n1",) and "n1" in cluster.terminated


def test_the_loop_settles_between_steps_and_removes_everything_when_stopped() -> None:
    cluster, driver = two_busy_nodes_one_wanted()
    cluster.job_list = [job("n0")]
    stop = threading.Event()
    settled: list[tuple[str, ...]] = []
    settle = driver.settle

    def recording_settle(now: float) -> tuple[str, ...]:
        settled.append(settle(now))
        return settled[-1]

    driver.settle = recording_settle  # type: ignore[method-assign]
    loop = threading.Thread(target=driver.run, args=(stop, time.time, 30.0, 0.02))
    loop.start()
    time.sleep(0.2)
    cluster.set("n1", busy=False)  # its job ended between two steps 30 s apart
    deadline = time.time() + 5
    while ("n1",) not in settled and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    loop.join(5)
    assert ("n1",) in settled and not loop.is_alive()
    assert cluster.terminated == ["n2", "n1", "n0"] and cluster.node_list == []


def test_a_notice_between_steps_is_decided_on_at_once() -> None:
    cluster, driver = two_busy_nodes_one_wanted()
    cluster.job_list = [job("n0"), job("n1"), *[job() for _ in range(40)]]
    driver.job_finished("a", 1800.0)
    driver.step(120.0)  # 40 half-hour jobs queued again: three nodes wanted, one launched
    launched = len(cluster.node_list)
    cluster.set("n1", state=NOTICE)  # its node agent reported the two-minute notice
    driver.settle(130.0)
    assert len(cluster.node_list) == launched + 1  # its replacement boots during the notice, not a step later
    driver.settle(140.0)
    assert len(cluster.node_list) == launched + 1  # the same notice is decided on once
