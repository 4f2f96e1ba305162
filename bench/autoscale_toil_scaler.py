"""Toil 9.6's own ClusterScaler driven by this project's simulator: run by bench/toil-venv/bin/python only.

Reads one scenario as JSON on stdin (jobs, node types, options, spot model), loads the simulator by path
(argv[1]; it is standard-library only), and prints the run's result as JSON. The leader, the scalable batch
system and the provisioner are stand-ins over the simulation, as Toil's clusterScalerTest.py mocks them;
each tick does what ScalerThread.tryRun does once per --scaleInterval.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import sys
from argparse import Namespace
from dataclasses import asdict
from typing import Any

from toil.batchSystems.abstractBatchSystem import AbstractBatchSystem, AbstractScalableBatchSystem, NodeInfo
from toil.common import Config
from toil.job import JobDescription
from toil.provisioners.abstractProvisioner import AbstractProvisioner, Shape
from toil.provisioners.clusterScaler import ClusterScaler
from toil.provisioners.node import Node

logging.disable(logging.WARNING)


def load_simulator(path: str) -> Any:
    """The simulator module, loaded from its file under a name of its own."""
    spec = importlib.util.spec_from_file_location("autoscale_simulator", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["autoscale_simulator"] = module
    spec.loader.exec_module(module)
    return module


class SimulatedNode(Node):
    """A Toil Node on the simulated clock: Toil ranks nodes to remove by the time left in their billing hour,
    which Node reads from the wall clock (that made Toil's runs differ by up to 2% from one to the next)."""

    def __init__(self, sim: Any, n: Any) -> None:
        launched = datetime.datetime.fromtimestamp(n.launched_at, datetime.timezone.utc).isoformat()
        super().__init__(n.name, n.name, n.name, launched, n.type.instance_type, n.type.preemptible)
        self.sim, self.launched_at = sim, n.launched_at

    def remainingBillingInterval(self) -> float:
        return 1.0 - ((self.sim.now - self.launched_at) % 3600.0) / 3600.0


class SimulatedCluster(AbstractScalableBatchSystem, AbstractProvisioner):
    """Leader, scalable batch system and provisioner in one, over a Simulation (as clusterScalerTest mocks them)."""

    for _name, _value in AbstractBatchSystem.__dict__.items():
        if getattr(_value, "__isabstractmethod__", False):
            exec(f"def {_name}(*a, **k): pass")
    del _name, _value

    def __init__(self, sim: Any, node_types: list[Any]) -> None:
        super().__init__(clusterName="sim", clusterType="mesos")
        self.sim = sim
        self.provisioner = self
        self.batchSystem = self
        self.toilState = Namespace(bus=Namespace(publish=lambda *_: None))
        self.by_instance = {(t.instance_type, t.preemptible): t for t in node_types}
        self.descriptions: dict[int, JobDescription] = {}

    def supportedClusterTypes(self) -> set[str]:
        return {"mesos"}

    def createClusterSettings(self) -> None:
        pass

    def readClusterSettings(self) -> None:
        pass

    def getNodeShape(self, instance_type: str, preemptible: bool = False) -> Shape:
        t = self.by_instance[(instance_type, preemptible)]
        return Shape(wallTime=3600, memory=t.memory, cores=t.cores, disk=t.disk, preemptible=preemptible)

    def description(self, job: Any) -> JobDescription:
        if job.id not in self.descriptions:
            requirements = {"memory": job.memory, "cores": job.cores, "disk": job.disk, "preemptible": job.preemptible}
            self.descriptions[job.id] = JobDescription(requirements=requirements, jobName=job.name)
        return self.descriptions[job.id]

    def getJobs(self) -> list[JobDescription]:
        """Issued jobs, as Toil's leader gives them: queued with the batch system, and running."""
        running = [job for job, _, _ in self.sim.running()]
        return [self.description(j) for j in self.sim.queued() + running]

    def _node(self, n: Any) -> Node:
        return SimulatedNode(self.sim, n)

    def getProvisionedWorkers(self, instance_type: str | None = None, preemptible: bool | None = None) -> list[Node]:
        return [
            self._node(n)
            for n in self.sim.live_nodes()
            if (instance_type is None or n.type.instance_type == instance_type)
            and (preemptible is None or n.type.preemptible == preemptible)
        ]

    def getNodes(self, preemptible: bool | None = None, timeout: int | None = 600) -> dict[str, NodeInfo]:
        return {
            n.name: NodeInfo(0, 0, n.type.cores, n.type.memory, n.cores, n.memory, len(n.running))
            for n in self.sim.live_nodes()
            if n.state != "booting" and (preemptible is None or n.type.preemptible == preemptible)
        }

    def nodeInUse(self, ip: str) -> bool:
        return bool(self.sim.nodes[ip].running)

    def ignoreNode(self, ip: str) -> None:
        self.sim.drain(ip)

    def unignoreNode(self, ip: str) -> None:
        self.sim.undrain(ip)

    def addNodes(self, nodeTypes: set[str], numNodes: int, preemptible: bool, spotBid: float | None = None) -> int:
        t = self.by_instance[(next(iter(nodeTypes)), preemptible)]
        return len(self.sim.launch(t.key, numNodes))

    def terminateNodes(self, nodes: list[Node]) -> None:
        self.sim.terminate([n.privateIP for n in nodes])

    def remainingBillingInterval(self, node: Node) -> float:
        return 1.0

    def launchCluster(self, *a: Any, **k: Any) -> None:
        pass

    def destroyCluster(self) -> None:
        pass

    def getLeader(self) -> None:
        pass

    def getWorkersInCluster(self, nodeShape: Shape) -> list[Any]:
        return []


class ToilScaler:
    """The simulator's Scaler made of Toil 9.6's ClusterScaler: each tick is one pass of ScalerThread.tryRun."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.scenario = scenario
        self.scaler: ClusterScaler | None = None
        self.cluster: SimulatedCluster | None = None

    def _setup(self, sim: Any) -> tuple[ClusterScaler, SimulatedCluster]:
        if self.scaler is None or self.cluster is None:
            s = self.scenario
            config = Config()
            config.targetTime = s["target_time"]
            config.betaInertia = s["beta_inertia"]
            config.preemptibleCompensation = s["preemptible_compensation"]
            config.maxNodes = list(s["max_nodes"])
            config.minNodes = list(s["min_nodes"])
            config.assume_zero_overhead = True
            config.scaleInterval = s["scale_interval"]
            types = list(sim.types.values())
            config.nodeTypes = [({t.instance_type}, t.hourly if t.preemptible else None) for t in types]
            self.cluster = SimulatedCluster(sim, types)
            self.cluster.setAutoscaledNodeTypes(config.nodeTypes)
            self.scaler = ClusterScaler(self.cluster, self.cluster, config)
        return self.scaler, self.cluster

    def tick(self, sim: Any) -> None:
        scaler, cluster = self._setup(sim)
        jobs = cluster.getJobs()
        shapes = [
            Shape(
                wallTime=scaler.getAverageRuntime(jobName=j.jobName),
                memory=j.memory,
                cores=j.cores,
                disk=j.disk,
                preemptible=j.preemptible,
            )
            for j in jobs
        ]
        current = {
            shape: len(cluster.getProvisionedWorkers(instance_type=t, preemptible=shape.preemptible))
            for shape, t in scaler.nodeShapeToType.items()
        }
        estimated, _could_not_fit = scaler.getEstimatedNodeCounts(shapes, current)
        scaler.updateClusterSize(estimated)

    def settle(self, sim: Any) -> None:
        pass  # Toil's ScalerThread acts once per --scaleInterval only

    def job_finished(self, job: Any, wall_time: float) -> None:
        if self.scaler is not None and self.cluster is not None:
            self.scaler.addCompletedJob(self.cluster.description(job), int(wall_time))

    def on_notice(self, sim: Any, node: Any) -> list[int]:
        return []  # Toil reads no interruption notices (never called: the simulation runs without them)

    def finish(self, sim: Any) -> None:
        scaler, _ = self._setup(sim)
        scaler.shutDown()


def main() -> None:
    sim_module = load_simulator(sys.argv[1])
    scenario = json.load(sys.stdin)
    jobs = [sim_module.SimJob(**{**j, "parents": tuple(j["parents"])}) for j in scenario["jobs"]]
    types = [sim_module.SimNodeType(**t) for t in scenario["types"]]
    sim = sim_module.Simulation(
        jobs,
        types,
        sim_module.SpotModel(**scenario["spot"]),
        boot_time=scenario["boot_time"],
        scale_interval=scenario["scale_interval"],
        honour_notices=False,  # Toil reads no interruption notices
    )
    result = sim.run(ToilScaler(scenario))
    json.dump(asdict(result), sys.stdout)


if __name__ == "__main__":
    main()
