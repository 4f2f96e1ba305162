"""A workflow that scales its cluster: the autoscaler launches instances on moto_server, stand-in machines join
the real Slurm cluster under those instances' names, jobs run there, a spot interruption is survived without a
retry, and every node the workflow launched is gone when it ends.

The cluster is made by launch-cluster on moto (one static worker to model new ones on; no machine behind the
leader: the workflow's leader runs here, with the environment the bootstrap gives a leader's appliance). The
machines behind moto's worker instances are tests/standin_nodes.py's: a dynamic Slurm node per instance in its
own network namespace, with an instance-metadata stand-in and the node agent. Jobs go to Slurm's ``cloud``
partition (infra/slurm-up.sh), which holds only those machines. Nothing connects to a moto address.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests import standin_nodes
from tests.integration.hpc import ensure_slurm
from tests.integration.test_aws_provision import ZONE, moto, moto_port  # noqa: F401 (fixtures)
from tests.integration.test_toil_status import toil
from tests.provision_contract import fresh_name
from toil.provision.cli import destroy_main, launch_main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GUARD = Path(__file__).resolve().parent.parent / "standin_socket_guard"
SPOT = "t2.large:0.05"

WORKFLOW = """
import os, sys, time
from toil.common import Toil
from toil.job import Job

def work(job, i, seconds, out):
    node = os.environ.get("SLURMD_NODENAME", "?")
    open(os.path.join(out, "start_%d_%s_%f" % (i, node, time.time())), "w").close()
    time.sleep(seconds)
    return i * i

def root(job, n, seconds, out):
    squares = [job.addChildJobFn(work, i, seconds, out, cores=1, memory="512M", disk="100M", preemptible=True).rv()
               for i in range(n)]
    return job.addFollowOnFn(sum, squares).rv()

if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--out")
    options = parser.parse_args()
    with Toil(options) as toil:
        root_job = Job.wrapJobFn(root, 6, 20, options.out, cores=1, memory="256M", disk="100M")
        print("RESULT", toil.restart() if options.restart else toil.start(root_job))
"""


def _ec2() -> Any:
    return boto3.client("ec2", region_name="us-west-2")


def _workers(cluster: str, states: tuple[str, ...] = ("pending", "running")) -> list[dict[str, Any]]:
    filters = [
        {"Name": "tag:clusterName", "Values": [cluster]},
        {"Name": "tag:ToilNodeType", "Values": ["worker"]},
        {"Name": "instance-state-name", "Values": list(states)},
    ]
    return [i for r in _ec2().describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, standin_nodes.InstanceMirror]]:
    """A cluster on moto with one static on-demand worker, and the stand-in machines of its workers."""
    ensure_slurm()
    name = fresh_name()
    argv = ["-z", ZONE, "--leaderNodeType", "t2.medium", "--keyPairName", "key", "--nodeTypes", "t2.large"]
    assert launch_main([name, *argv, "-w", "1", "--leaderWait", "0", "--logLevel", "WARNING"]) == 0
    mirror = standin_nodes.InstanceMirror(_ec2(), name, tmp_path / "machines").start()
    try:
        yield name, mirror
    finally:
        mirror.stop()
        destroy_main(["-z", ZONE, name])


def _wait(what: str, check: Any, run: subprocess.Popen[str], limit: float = 120.0) -> Any:
    deadline = time.monotonic() + limit
    while not (found := check()):
        assert run.poll() is None, f"the workflow ended (exit {run.returncode}) before a {what}"
        assert time.monotonic() < deadline, f"no {what} within {limit:g} s"
        time.sleep(0.5)
    return found


def _static_worker(name: str, mirror: standin_nodes.InstanceMirror) -> str:
    """The cluster's one static worker, once its machine is up."""
    (static,) = [i["InstanceId"] for i in _workers(name)]
    deadline = time.monotonic() + 60
    while static not in mirror.machines:
        assert time.monotonic() < deadline and not mirror.errors, f"no machine for the static worker: {mirror.errors}"
        time.sleep(0.2)
    return static


def _workflow(name: str, tmp_path: Path) -> tuple[list[str], dict[str, str], Path]:
    """The workflow's command line (on Slurm's cloud partition, autoscaled on moto), its environment, its starts."""
    out = tmp_path / "starts"
    out.mkdir()
    script = tmp_path / "flow.py"
    script.write_text(WORKFLOW)
    env = dict(os.environ, TOIL_CLUSTER_NAME=name, TOIL_AWS_ZONE=ZONE, TOIL_TEST_PEERS_LOG=str(tmp_path / "peers"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")]))
    argv = [sys.executable, str(script), f"file:{tmp_path / 'js'}", "--out", str(out), "--batchSystem", "slurm"]
    argv += ["--slurmPartition", "cloud", "--provisioner", "aws", "--nodeTypes", SPOT, "--maxNodes", "2"]
    argv += ["--targetTime", "5", "--scaleInterval", "2", "--retryCount", "0", "--logLevel", "INFO"]
    argv += ["--packJobs", "false", "--clean", "never"]  # kept for 'toil stats'
    argv += ["--workDir", str(tmp_path), "--clusterStats", str(tmp_path / "cluster-stats.json")]
    return argv, env, out


def _spot_job(out: Path, mirror: standin_nodes.InstanceMirror) -> tuple[str, str] | None:
    """A job that started on an autoscaled spot machine: (job, instance)."""
    for start in sorted(out.iterdir()):
        _, job, node, _ = start.name.split("_")
        if node in mirror.machines and mirror.machines[node].spot:
            return job, node
    return None


def test_autoscaled_spot_nodes_run_jobs_survive_an_interruption_and_are_removed(
    cluster: tuple[str, standin_nodes.InstanceMirror], tmp_path: Path
) -> None:
    name, mirror = cluster
    static = _static_worker(name, mirror)
    argv, env, out = _workflow(name, tmp_path)
    peers = Path(env["TOIL_TEST_PEERS_LOG"])
    run = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the autoscaler starts spot workers; their machines join Slurm and take jobs
        job, node = _wait("job on an autoscaled spot node", lambda: _spot_job(out, mirror), run)
        # EC2's two-minute notice: the node agent drains the node, the leader re-issues its job elsewhere
        standin_nodes.notice(mirror.machines[node])
        _wait(f"restart of job {job} elsewhere", lambda: len(list(out.glob(f"start_{job}_*"))) >= 2, run, 60)
        _ec2().terminate_instances(InstanceIds=[node])  # ... and reclaims the instance
        stdout, stderr = run.communicate(timeout=300)
    except AssertionError as failed:  # say what the leader said
        run.kill()
        raise AssertionError(f"{failed}\n--- the workflow's log:\n{run.communicate()[1][-4000:]}") from None
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr[-3000:]
    assert "RESULT 55" in stdout  # 0 + 1 + 4 + 9 + 16 + 25: every output right, with --retryCount 0
    starts = sorted(out.glob(f"start_{job}_*"), key=lambda p: float(p.name.split("_")[3]))
    nodes = [p.name.split("_")[2] for p in starts]
    assert nodes[0] == node and node not in nodes[1:], nodes
    assert re.search(rf"lost.*{node}|{node}.*spot interruption notice", stderr), stderr[-3000:]

    # every node the workflow launched is terminated; the static worker stays
    launched = [i for i in mirror.started if i != static]
    assert launched and node in launched
    running = {i["InstanceId"] for i in _workers(name)}
    assert running == {static}, running
    spot = [i for i in _workers(name, ("terminated", "shutting-down")) if i.get("InstanceLifecycle") == "spot"]
    assert spot, "no spot worker was launched"
    assert (tmp_path / "cluster-stats.json").exists()
    # 'toil stats' shows the node-hours of the spot type and the run's estimated cost (no --stats: only those)
    shown = toil("stats", f"file:{tmp_path / 'js'}")
    assert shown.returncode == 0, shown.stderr
    # the provider's prices: moto's spot price history gives $0.00001 (the offline table would say $0.0325)
    assert re.match(
        r"Cluster: estimated cost \$\d+\.\d\d \(prices: AWS \(on-demand: Price List API for us-west-2; "
        r"spot: price history in us-west-2a\)\)",
        shown.stdout,
    ), shown.stdout
    assert re.search(
        rf"^  {re.escape(SPOT)} \(spot\): [1-9]\d* nodes?, \d+\.\d\d node-hours at \$0\.000010/hour", shown.stdout, re.M
    ), shown.stdout
    raw = json.loads(toil("stats", "--raw", f"file:{tmp_path / 'js'}").stdout)["cluster"]
    (spot_usage,) = [t for t in raw["types"] if t["node_type"] == SPOT]
    assert spot_usage["preemptible"] and spot_usage["node_hours"] > 0 and raw["total_cost"] > 0
    # the leader connected to nothing but loopback (moto): never to the addresses moto invents
    seen = peers.read_text().splitlines()
    assert seen and not [p for p in seen if not re.match(r"\('(127\.0\.0\.1|::1|localhost)'|'/", p)], seen
    assert mirror.errors == []


def test_a_restarted_leader_carries_on_with_the_nodes_the_killed_one_launched(
    cluster: tuple[str, standin_nodes.InstanceMirror], tmp_path: Path
) -> None:
    """The autoscaler's state survives the leader: after a kill -9 and --restart, the nodes the first leader
    launched are known as the workflow's own (used, then terminated at the end), not taken for static ones."""
    name, mirror = cluster
    static = _static_worker(name, mirror)
    argv, env, out = _workflow(name, tmp_path)
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait("job on an autoscaled spot node", lambda: _spot_job(out, mirror), first)
    except AssertionError as failed:
        first.kill()
        raise AssertionError(f"{failed}\n--- the workflow's log:\n{first.communicate()[1][-4000:]}") from None
    launched_first = {i["InstanceId"] for i in _workers(name)} - {static}
    first.kill()  # kill -9: no shutdown, the nodes it launched stay up
    first.communicate()
    assert launched_first and {i["InstanceId"] for i in _workers(name)} >= launched_first
    again = subprocess.run([*argv, "--restart"], env=env, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "RESULT 55" in again.stdout
    running = {i["InstanceId"] for i in _workers(name)}
    assert running == {static}, f"left running: {running - {static}} (the first leader launched {launched_first})"
    assert mirror.errors == []
