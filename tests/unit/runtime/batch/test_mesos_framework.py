"""The Mesos batch system's framework against the protocol double's master in this process (127.0.0.1): its
agents for the autoscaler, a stream that breaks (subscribe again, reconcile), a lost agent, cancelling before and
after launch, and the teardown at shutdown."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.mesos_double.agent import Agent
from tests.mesos_double.master import Master, serve
from toil.compiler.ir import Resources
from toil.runtime.batch import new_batch_system
from toil.runtime.batch.base import BatchContext, BatchJob
from toil.runtime.batch.remote.mesos.offers import PendingTask, Shape
from toil.runtime.batch.remote.mesos.system import MesosBatchSystem
from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore


@pytest.fixture
def master(tmp_path: Path) -> Iterator[tuple[Master, str]]:
    def agent(name: str, cpus: float, preemptible: bool) -> Agent:
        attributes = {"preemptible": "True"} if preemptible else {}
        total = {"cpus": cpus, "mem": 2048.0, "disk": 10000.0, "gpus": 0.0}
        return Agent(name, "127.0.0.1", total, attributes, str(tmp_path / "sb"), report=lambda *a: None)

    m = Master([agent("firm", 2, False), agent("spot", 4, True)], heartbeat=1.0)
    server = serve(m)
    yield m, f"127.0.0.1:{server.server_address[1]}"
    m.stopping = True
    for a in m.agents.values():
        a.lose()
    server.shutdown()


@pytest.fixture
def mesos(tmp_path: Path, master: tuple[Master, str]) -> Iterator[MesosBatchSystem]:
    config = Config()
    config.workflowID = "1234-5678-9abc-def0"
    config.mesos_endpoint = master[1]
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json()})
    b = new_batch_system(MesosBatchSystem, BatchContext(config, js, str(tmp_path)))
    assert isinstance(b, MesosBatchSystem)
    b.start()
    yield b
    b.shutdown()


def sleeper(task_id: str, seconds: float, cpus: float = 1.0, preemptible: bool = False) -> PendingTask:
    info: dict[str, Any] = {"name": task_id, "task_id": {"value": task_id},
                            "command": {"shell": True, "value": f"sleep {seconds}"}}  # fmt: skip
    return PendingTask(task_id, Shape(cpus, 64, 1, 0), preemptible, info)


def state_of(b: MesosBatchSystem, task_id: str) -> str:
    fw = b._fw()
    with fw.lock:
        task = fw.tasks.get(task_id)
        return task.state.state if task else ("pending" if task_id in fw.pending else "gone")


def test_agents_are_described_for_the_autoscaler(mesos: MesosBatchSystem) -> None:
    mesos._fw().add(sleeper("t1", 30, cpus=1.5))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    nodes = {n.name: n for n in mesos.nodes()}
    firm, spot = nodes["firm"], nodes["spot"]
    assert (firm.cores, firm.memory, firm.preemptible) == (2.0, 2048 * 2**20, False)
    assert (spot.cores, spot.preemptible, spot.busy) == (4.0, True, False)
    assert firm.busy and firm.used_cores == 1.5 and firm.running_jobs == 1 and firm.used_memory == 64 * 2**20


def test_a_broken_stream_subscribes_again_as_the_same_framework_and_reconciles(
    mesos: MesosBatchSystem, master: tuple[Master, str]
) -> None:
    m, address = master
    fw = mesos._fw()
    fid = fw.framework_id
    fw.add(sleeper("t1", 1.5))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    reconciles = m.calls.get("RECONCILE", 0)
    req = urllib.request.Request(f"http://{address}/double/frameworks/{fid}/drop", data=b"", method="POST")
    assert json.loads(urllib.request.urlopen(req, timeout=10).read()) == {"dropped": True}
    wait_for(lambda: m.frameworks[fid].subscriptions == 2, timeout=20, what="a second subscription")
    wait_for(lambda: m.calls.get("RECONCILE", 0) > reconciles, timeout=20, what="a reconciliation")
    assert fw.framework_id == fid and mesos.framework is fw
    wait_for(lambda: state_of(mesos, "t1") == "done", timeout=20, what="the task's end, after the reconnect")


def test_a_lost_agents_tasks_are_lost_and_its_offers_stop(mesos: MesosBatchSystem, master: tuple[Master, str]) -> None:
    m, _ = master
    mesos._fw().add(sleeper("t1", 30))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    assert m.agent_lost("firm") == 1
    wait_for(lambda: state_of(mesos, "t1") == "lost", timeout=20, what="the task to be lost")
    states = mesos.query()
    assert states["t1"].state == "lost" and "REASON_AGENT_REMOVED" in states["t1"].reason
    assert "t1" not in mesos.query()  # read once
    mesos._fw().add(sleeper("t2", 30))  # not preemptible: only the lost agent could take it
    assert state_of(mesos, "t2") == "pending"
    assert [n.state for n in mesos.nodes() if n.name == "firm"] == ["down"]


def test_cancel_before_and_after_launch(mesos: MesosBatchSystem, master: tuple[Master, str]) -> None:
    m, _ = master
    fw = mesos._fw()
    fw.add(sleeper("big", 30, cpus=64))  # waits for ever: no agent has 64 cores
    fw.add(sleeper("t1", 30, preemptible=True))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    assert [a for a in m.agents.values() if a.tasks] != []
    mesos.cancel(["big", "t1"])
    assert state_of(mesos, "big") == "cancelled"
    wait_for(lambda: state_of(mesos, "t1") == "cancelled", timeout=20, what="the kill")
    assert not any(a.tasks for a in m.agents.values())
    assert m.frameworks[mesos._fw().framework_id or ""].states["t1"] == "TASK_KILLED"


def test_shutdown_tears_the_framework_down(mesos: MesosBatchSystem, master: tuple[Master, str]) -> None:
    m, _ = master
    mesos._fw().add(sleeper("t1", 30))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    fid = mesos._fw().framework_id
    assert mesos.job_store.read_message("mesos-framework-id").decode() == fid
    mesos.shutdown()
    assert fid in m.removed and not m.frameworks
    wait_for(lambda: not m.agents["firm"].tasks, timeout=20, what="the agent to kill the task")
    with pytest.raises(KeyError):
        mesos.job_store.read_message("mesos-framework-id")


def test_a_removed_framework_id_registers_anew_and_a_live_one_is_taken_over(
    mesos: MesosBatchSystem, master: tuple[Master, str]
) -> None:
    m, _ = master
    old = mesos._fw().framework_id or ""
    mesos.shutdown()  # torn down: the master removed it
    mesos.job_store.write_message("mesos-framework-id", old.encode())  # as a leader killed before its teardown
    again = new_batch_system(MesosBatchSystem, mesos.context)
    assert isinstance(again, MesosBatchSystem)
    again.start()
    try:
        new = again._fw().framework_id or ""
        assert new != old and new in m.frameworks
        assert again.job_store.read_message("mesos-framework-id").decode() == new
        # A leader that died without a teardown: the next one subscribes as the same framework.
        again._fw().closing = True
        again._fw().client.close()
        wait_for(lambda: not m.frameworks[new].connected, timeout=10, what="the master to see the stream end")
        third = new_batch_system(MesosBatchSystem, mesos.context)
        assert isinstance(third, MesosBatchSystem)
        third.start()
        assert third._fw().framework_id == new and m.frameworks[new].subscriptions == 2
        third.shutdown()
    finally:
        again.framework = None


def test_toil_kill_force_tears_down_a_dead_leaders_framework(
    mesos: MesosBatchSystem, master: tuple[Master, str], tmp_path: Path
) -> None:
    m, address = master
    fw = mesos._fw()
    fid = fw.framework_id or ""
    fw.add(sleeper("t1", 30))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    mesos.issue(BatchJob("n1.0", "n1", "'work' n1", Resources(1, 2**20, 2**20), {"token": "n1.0"}, name="work"))
    [batch_id] = mesos.batch_ids().values()
    assert batch_id.endswith(f"@{fid}@{address}")
    fw.closing = True  # the leader dies: no teardown
    fw.client.close()
    mesos.framework = None
    MesosBatchSystem.kill_batch_ids([batch_id])
    assert fid in m.removed and not m.frameworks
    wait_for(lambda: not any(a.tasks for a in m.agents.values()), timeout=20, what="the agents to kill the tasks")


def test_mesos_framework_id_and_name_and_the_default_master(
    mesos: MesosBatchSystem, master: tuple[Master, str]
) -> None:
    from dataclasses import replace

    from toil.lib.misc import get_public_ip

    m, address = master
    mesos.shutdown()
    config = Config.from_json(mesos.config.to_json())
    config.mesos_framework_id, config.mesos_name = "chosen-0000", "mine"
    chosen = new_batch_system(MesosBatchSystem, replace(mesos.context, config=config))
    assert isinstance(chosen, MesosBatchSystem)
    chosen.start()
    try:
        assert chosen._fw().framework_id == "chosen-0000"
        assert m.frameworks["chosen-0000"].info["name"] == "mine"
    finally:
        chosen.shutdown()
    config.mesos_endpoint = None
    default = new_batch_system(MesosBatchSystem, replace(mesos.context, config=config))
    assert isinstance(default, MesosBatchSystem) and default.endpoint == f"{get_public_ip()}:5050"


def test_an_unreachable_task_is_lost_and_killed_so_no_second_copy_runs_on(
    mesos: MesosBatchSystem, master: tuple[Master, str]
) -> None:
    m, _ = master
    mesos._fw().add(sleeper("t1", 30))
    wait_for(lambda: state_of(mesos, "t1") == "running", timeout=20, what="the task to run")
    [agent] = [a for a in m.agents.values() if a.tasks]
    assert m.agent_partitioned(agent.agent_id) == 1
    wait_for(lambda: state_of(mesos, "t1") == "lost", timeout=20, what="the task to be taken for lost")
    assert "REASON_AGENT_PARTITIONED" in mesos.query()["t1"].reason
    wait_for(lambda: not agent.tasks, timeout=20, what="the framework to kill the unreachable copy")


def test_a_master_that_is_not_leading_redirects_to_the_leader(
    mesos: MesosBatchSystem, master: tuple[Master, str]
) -> None:
    from dataclasses import replace
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    m, leader = master

    class NotLeading(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # as a non-leading master answers: 307, Location //LEADER
            self.send_response(307)
            self.send_header("Location", f"//{leader}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    standby = ThreadingHTTPServer(("127.0.0.1", 0), NotLeading)
    Thread(target=standby.serve_forever, daemon=True).start()
    mesos.shutdown()
    config = Config.from_json(mesos.config.to_json())
    config.mesos_endpoint = f"127.0.0.1:{standby.server_address[1]}"
    try:
        b = new_batch_system(MesosBatchSystem, replace(mesos.context, config=config))
        assert isinstance(b, MesosBatchSystem)
        b.start()
        assert b._fw().client.address == leader and b._fw().framework_id in m.frameworks
        b.shutdown()
    finally:
        standby.shutdown()
