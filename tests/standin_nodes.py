"""Stand-in machines behind the worker instances an autoscaler starts on moto: each a dynamic Slurm node
(``slurmd -Z``) named after its instance, in a network namespace of its own, with its instance-metadata
stand-in at 169.254.169.254 and its node agent inside.

moto invents instances and their addresses; nothing may connect to those. ``InstanceMirror`` watches moto for
the cluster's worker instances and does what EC2 and the node bootstrap would: for each running one it starts
a machine (the namespace, an IMDS, slurmd joining the real Slurm cluster with the instance type as a feature,
``preemptible`` for spot, and the node agent); for each terminated one it takes the machine away at once
(every process in its namespace killed, as a reclaimed instance stops) and then deletes the Slurm node, as a
cloud Slurm's scripts do. A spot interruption is ``notice(instance)`` (the IMDS serves the two-minute
notice; the node agent drains the node) and later ``terminate_instances`` on moto.

The namespaces' addresses are 10.251.N.0/30 (the host side .1, the machine .2); slurmctld is reached at the
host side. Needs root, iproute2, nsenter and a slurmctld with MaxNodeCount (infra/slurm-up.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SLURM_CONF = Path("/etc/slurm/slurm.conf")


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


@dataclass
class StandinMachine:
    """One stand-in machine: its namespace, addresses, processes and files."""

    instance_id: str
    instance_type: str
    spot: bool
    index: int
    work: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"toil-{self.instance_id}"

    @property
    def host_ip(self) -> str:
        return f"10.251.{self.index}.1"

    @property
    def machine_ip(self) -> str:
        return f"10.251.{self.index}.2"

    @property
    def notice_file(self) -> Path:
        return self.work / "spot-notice.json"

    def nsenter(self, *argv: str) -> list[str]:
        # nsenter, not 'ip netns exec': that remounts /sys, hiding the cgroup mount slurmd needs
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]


def start_machine(instance_id: str, instance_type: str, spot: bool, index: int, work: Path) -> StandinMachine:
    """Bring up the machine of one instance; its slurmd registers as node ``instance_id``."""
    machine = StandinMachine(instance_id, instance_type, spot, index, work / instance_id)
    machine.work.mkdir(parents=True, exist_ok=True)
    host_if, ns_if = f"tsh{index}", f"tsn{index}"
    _run("ip", "netns", "add", machine.netns)
    _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
    _run("ip", "link", "set", ns_if, "netns", machine.netns)
    _run("ip", "addr", "add", f"{machine.host_ip}/30", "dev", host_if)
    _run("ip", "link", "set", host_if, "up")
    inside = ["ip", "netns", "exec", machine.netns]
    _run(*inside, "ip", "addr", "add", f"{machine.machine_ip}/30", "dev", ns_if)
    _run(*inside, "ip", "link", "set", ns_if, "up")
    _run(*inside, "ip", "link", "set", "lo", "up")
    _run(*inside, "ip", "addr", "add", "169.254.169.254/32", "dev", "lo")  # the instance metadata address
    log = open(machine.work / "processes.log", "ab")
    imds = [sys.executable, str(HERE / "imds_standin.py"), "--instance-id", instance_id]
    imds += ["--instance-type", instance_type, "--notice", str(machine.notice_file)]
    machine.processes.append(subprocess.Popen(machine.nsenter(*imds), stdout=log, stderr=log))
    conf = _start_slurmd(machine)
    agent = [sys.executable, "-m", "toil.provision.node_agent", "--batchSystem", "slurm", "--node", instance_id]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SLURM_CONF=str(conf))  # its scontrol reaches the host
    machine.processes.append(
        subprocess.Popen(machine.nsenter(*agent, "--interval", "1"), stdout=log, stderr=log, env=env)
    )
    return machine


def _start_slurmd(machine: StandinMachine) -> Path:
    """slurmd as a dynamic node: the cluster's configuration with the controller at the host side."""
    conf = machine.work / "slurm.conf"
    lines = SLURM_CONF.read_text().splitlines()
    conf.write_text(
        "\n".join(f"SlurmctldHost=localhost({machine.host_ip})" if x.startswith("SlurmctldHost=") else x for x in lines)
        + "\n"
    )
    cores, mib = _shape(machine.instance_type)
    features = ",".join([machine.instance_type, "cloud", *(["preemptible"] if machine.spot else [])])
    node = f"CPUs={cores} RealMemory={mib} Feature={features} NodeAddr={machine.machine_ip}"
    Path(f"/var/spool/slurmd/{machine.instance_id}").mkdir(parents=True, exist_ok=True)
    # slurmctld reads this node's slurm.conf too (the controller's, with another SlurmctldHost): the same
    # file in every respect that matters; -D keeps slurmd in the foreground, a child we can kill
    argv = machine.nsenter("slurmd", "-D", "-f", str(conf), "-Z", "-N", machine.instance_id, "--conf", node)
    log = open(machine.work / "slurmd.log", "ab")
    machine.processes.append(subprocess.Popen(argv, stdout=log, stderr=log))
    return conf


def _shape(instance_type: str) -> tuple[int, int]:
    """(cores, MiB) the stand-in declares to Slurm: the instance type's, as the autoscaler's price table has it."""
    from toil.provision.autoscale.prices import instance_shape

    try:
        shape = instance_shape(instance_type)
    except KeyError:
        return 2, 4096
    return int(shape.cores), shape.memory // 2**20


def notice(machine: StandinMachine, seconds: int = 120) -> None:
    """EC2 gives the spot instance its interruption notice."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
    tmp = machine.notice_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"action": "terminate", "time": when}))
    tmp.rename(machine.notice_file)


def stop_machine(machine: StandinMachine) -> None:
    """The instance is gone: every process in its namespace killed at once, then its Slurm node deleted."""
    pids = _run("ip", "netns", "pids", machine.netns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    for process in machine.processes:
        try:
            process.kill()
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
    # the controller first marks the node down (its jobs NODE_FAIL, as when a machine vanishes), then forgets it
    _run("scontrol", "update", f"NodeName={machine.instance_id}", "State=DOWN", "Reason=terminated", check=False)
    _run("scontrol", "delete", f"NodeName={machine.instance_id}", check=False)
    _run("ip", "link", "del", f"tsh{machine.index}", check=False)
    _run("ip", "netns", "del", machine.netns, check=False)


class InstanceMirror:
    """Keeps one stand-in machine per running worker instance of a cluster on moto (a thread polling EC2)."""

    def __init__(self, ec2: Any, cluster: str, work: Path, interval: float = 0.5) -> None:
        self.ec2, self.cluster, self.work, self.interval = ec2, cluster, work, interval
        self.machines: dict[str, StandinMachine] = {}
        self.started: list[str] = []  # instance ids, in the order their machines came up
        self.errors: list[str] = []
        self._next_index = 1 + (os.getpid() % 50) * 4
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> InstanceMirror:
        self._thread.start()
        return self

    def _instances(self) -> dict[str, dict[str, Any]]:
        filters = [
            {"Name": "tag:clusterName", "Values": [self.cluster]},
            {"Name": "tag:ToilNodeType", "Values": ["worker"]},
        ]
        found = self.ec2.describe_instances(Filters=filters)["Reservations"]
        return {i["InstanceId"]: i for r in found for i in r["Instances"]}

    def sync(self) -> None:
        """One pass: machines for new running instances, none for gone ones."""
        instances = self._instances()
        with self._lock:
            for instance_id, instance in instances.items():
                state = instance["State"]["Name"]
                if state == "running" and instance_id not in self.machines:
                    spot = instance.get("InstanceLifecycle") == "spot"
                    index, self._next_index = self._next_index, self._next_index + 1
                    self.machines[instance_id] = start_machine(
                        instance_id, instance["InstanceType"], spot, index % 250, self.work
                    )
                    self.started.append(instance_id)
            for instance_id in list(self.machines):
                state = instances.get(instance_id, {}).get("State", {}).get("Name", "terminated")
                if state in ("shutting-down", "terminated", "stopped", "stopping"):
                    stop_machine(self.machines.pop(instance_id))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception as e:  # noqa: BLE001 (reported by the test, not lost in a thread)
                self.errors.append(repr(e))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop watching and take every machine away."""
        self._stop.set()
        self._thread.join(timeout=30)
        with self._lock:
            for machine in self.machines.values():
                stop_machine(machine)
            self.machines.clear()
