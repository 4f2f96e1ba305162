"""The policy and its driver run against the simulator: the backend over a Simulation, and the Scaler it drives."""

from __future__ import annotations

from collections.abc import Sequence

from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.policy import JobDemand, NodeChoice, NodeStatus, PolicyOptions
from toil.provision.autoscale.simulator import SimJob, SimNode, SimNodeType, Simulation


def demand(job: SimJob, node: str | None = None, running_for: float = 0.0) -> JobDemand:
    """A simulated job as the policy sees it (never its true run time)."""
    return JobDemand(
        job.name, job.cores, job.memory, job.disk, job.accelerators, job.preemptible, node, running_for, id=str(job.id)
    )


class SimulatedBackend:
    """The ClusterBackend of a Simulation."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def jobs(self) -> list[JobDemand]:
        """Queued and running jobs."""
        running = [demand(job, node.name, self.sim.now - started) for job, node, started in self.sim.running()]
        return [demand(job) for job in self.sim.queued()] + running

    def nodes(self) -> list[NodeStatus]:
        """Live nodes and their states."""
        return [NodeStatus(n.name, n.type.key, n.state, bool(n.running), n.static) for n in self.sim.live_nodes()]

    def add_nodes(self, choice: NodeChoice, count: int) -> list[str]:
        """Launch simulated nodes."""
        return self.sim.launch(choice.key, count)

    def drain(self, name: str) -> None:
        """Drain a simulated node."""
        self.sim.drain(name)

    def undrain(self, name: str) -> None:
        """Undrain a simulated node."""
        self.sim.undrain(name)

    def terminate(self, names: Sequence[str]) -> None:
        """Remove simulated nodes."""
        self.sim.terminate(list(names))

    def fail_job(self, job: str, message: str) -> None:
        """Fail a simulated job."""
        self.sim.fail(int(job), message)

    def reissue(self, job: str) -> None:
        """Re-issue a simulated job elsewhere."""
        self.sim.reissue(int(job))


def node_choice(t: SimNodeType, min_count: int = 0, max_count: int = 10) -> NodeChoice:
    """The policy's view of a simulated node type."""
    return NodeChoice(
        t.key, t.instance_type, t.cores, t.memory, t.disk, t.hourly, t.preemptible, t.accelerators, min_count, max_count
    )


class PolicyScaler:
    """The simulator's Scaler made of this project's driver and policy."""

    def __init__(self, choices: Sequence[NodeChoice], options: PolicyOptions) -> None:
        self.choices, self.options = choices, options
        self.driver: AutoscaleDriver | None = None

    def _driver(self, sim: Simulation) -> AutoscaleDriver:
        if self.driver is None:
            self.driver = AutoscaleDriver(SimulatedBackend(sim), self.choices, self.options)
        return self.driver

    def tick(self, sim: Simulation) -> None:
        """Step the driver at the simulated time."""
        self._driver(sim).step(sim.now)

    def settle(self, sim: Simulation) -> None:
        """Let the driver retire nodes gone idle between steps."""
        if self.driver is not None:
            self.driver.settle(sim.now)

    def job_finished(self, job: SimJob, wall_time: float) -> None:
        """Tell the driver."""
        if self.driver is not None:
            self.driver.job_finished(job.name, wall_time)

    def on_notice(self, sim: Simulation, node: SimNode) -> list[int]:
        """Let the driver re-issue what would not finish before the node goes."""
        self._driver(sim).preemption_notice(node.name, sim.spot.notice)
        return []

    def finish(self, sim: Simulation) -> None:
        """Remove everything launched."""
        self._driver(sim).shutdown(sim.now)
