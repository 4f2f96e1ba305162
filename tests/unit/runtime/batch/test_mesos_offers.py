"""The Mesos batch system's decisions without a master: offers fit to tasks, the preemptible attribute rule, task
states as the remote base reads them, RecordIO framing and --mesosMaster forms."""

from __future__ import annotations

import io

import pytest

from toil.compiler.ir import Resources
from toil.exceptions import ToilUserError
from toil.runtime.batch.remote.mesos.client import encode_record, read_record, split_endpoint
from toil.runtime.batch.remote.mesos.offers import (
    MIB,
    Offer,
    PendingTask,
    Shape,
    is_preemptible,
    job_state,
    match,
    may_run,
    task_resources,
    task_shape,
)


def offer(cpus: float, mem: float, disk: float = 10000, gpus: float = 0, preemptible: bool | None = None) -> Offer:
    resources = [{"name": k, "type": "SCALAR", "scalar": {"value": v}, "role": "*"}
                 for k, v in (("cpus", cpus), ("mem", mem), ("disk", disk), ("gpus", gpus)) if v]  # fmt: skip
    attributes = [] if preemptible is None else [{"name": "preemptible", "type": "TEXT",
                                                  "text": {"value": str(preemptible)}}]  # fmt: skip
    return Offer.parse({"id": {"value": "o1"}, "agent_id": {"value": "a1"}, "hostname": "h", "resources": resources,
                        "attributes": attributes})  # fmt: skip


def task(name: str, cpus: float, mem: float, preemptible: bool = False, gpus: float = 0) -> PendingTask:
    return PendingTask(name, Shape(cpus, mem, 10, gpus), preemptible, {})


def test_an_offer_is_read_in_mesos_units_with_its_preemptible_attribute() -> None:
    o = offer(4, 8192, 50000, 1, preemptible=True)
    assert o.available == Shape(4, 8192, 50000, 1) and o.preemptible and o.agent_id == "a1"
    assert not offer(1, 100).preemptible  # no attribute: not preemptible
    assert not offer(1, 100, preemptible=False).preemptible


def test_an_offer_takes_the_waiting_tasks_that_fit_together_in_order() -> None:
    waiting = [task("big", 3, 1000), task("a", 1, 1000), task("b", 1, 1000), task("c", 0.5, 5000)]
    assert [t.task_id for t in match(offer(2, 4096), waiting)] == ["a", "b"]
    assert [t.task_id for t in match(offer(4, 4096), waiting)] == ["big", "a"]
    assert match(offer(0.5, 100), waiting) == []


def test_gpus_and_disk_must_fit_too() -> None:
    assert match(offer(8, 8192), [task("gpu", 1, 100, gpus=1)]) == []
    assert [t.task_id for t in match(offer(8, 8192, gpus=2), [task("gpu", 1, 100, gpus=1)])] == ["gpu"]
    assert match(offer(8, 8192, disk=5), [task("disk", 1, 100)]) == []


def test_preemptible_agents_take_only_preemptible_jobs_and_others_take_any() -> None:
    assert may_run(job_preemptible=True, agent_preemptible=True)
    assert not may_run(job_preemptible=False, agent_preemptible=True)
    assert may_run(job_preemptible=False, agent_preemptible=False)
    assert may_run(job_preemptible=True, agent_preemptible=False)
    waiting = [task("firm", 1, 100), task("spot", 1, 100, preemptible=True)]
    assert [t.task_id for t in match(offer(4, 4096, preemptible=True), waiting)] == ["spot"]
    assert [t.task_id for t in match(offer(4, 4096, preemptible=False), waiting)] == ["firm", "spot"]
    assert is_preemptible({"preemptible": "True"}) and not is_preemptible({"zone": "a"})  # /master/slaves' form


def test_a_jobs_shape_in_mesos_units_with_a_memory_floor() -> None:
    r = Resources(2.0, 4 * 2**30, 3 * 2**30, ((("count", 2), ("kind", "gpu")),), True)
    assert task_shape(r) == Shape(2.0, 4096.0, 3072.0, 2.0)
    assert task_shape(Resources(0.1, 10 * MIB, 0)).mem == 256.0  # a worker needs ~60 MiB before the job runs


def test_task_resources_keep_the_offers_role() -> None:
    o = offer(4, 4096)
    assert task_resources(Shape(1, 300, 0, 0), o.resources) == [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 300}},
    ]
    reserved = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 4}, "allocation_info": {"role": "batch"}}]
    assert task_resources(Shape(1, 0, 0, 0), reserved)[0]["allocation_info"] == {"role": "batch"}


@pytest.mark.parametrize(
    ("status", "state", "code", "extra"),
    [
        ({"state": "TASK_STAGING"}, "pending", None, ""),
        ({"state": "TASK_STARTING"}, "pending", None, ""),
        ({"state": "TASK_RUNNING"}, "running", None, ""),
        ({"state": "TASK_KILLING"}, "running", None, ""),
        ({"state": "TASK_FINISHED", "message": "Command exited with status 0"}, "done", 0, ""),
        ({"state": "TASK_FAILED", "message": "Command exited with status 3"}, "failed", 3, "status 3"),
        ({"state": "TASK_FAILED", "message": "Command terminated with signal 9"}, "failed", 1, "signal 9"),
        (
            {
                "state": "TASK_FAILED",
                "reason": "REASON_CONTAINER_LIMITATION_MEMORY",
                "message": "Memory limit exceeded",
            },
            "oom",
            None,
            "exceeding its memory",
        ),
        ({"state": "TASK_KILLED"}, "cancelled", None, "TASK_KILLED"),
        ({"state": "TASK_LOST", "reason": "REASON_AGENT_REMOVED"}, "lost", None, "REASON_AGENT_REMOVED"),
        ({"state": "TASK_GONE"}, "lost", None, "TASK_GONE"),
        ({"state": "TASK_DROPPED"}, "lost", None, "TASK_DROPPED"),
        ({"state": "TASK_UNREACHABLE"}, "lost", None, "TASK_UNREACHABLE"),
        ({"state": "TASK_GONE_BY_OPERATOR"}, "lost", None, ""),
        ({"state": "TASK_ERROR", "message": "Task uses more resources than offered"}, "failed", 1, "refused"),
    ],
)
def test_task_states_map_onto_the_remote_bases(status: dict, state: str, code: int | None, extra: str) -> None:
    s = job_state("t1", status)
    assert (s.batch_id, s.state, s.exit_code) == ("t1", state, code)
    assert extra in s.reason
    assert s.permanent == (status["state"] == "TASK_ERROR")


def test_recordio_frames_round_trip_across_reads() -> None:
    stream = io.BytesIO(encode_record({"type": "HEARTBEAT"}) + encode_record({"type": "OFFERS", "offers": {}}))
    assert read_record(stream) == b'{"type": "HEARTBEAT"}'
    assert read_record(stream) == b'{"type": "OFFERS", "offers": {}}'
    assert read_record(stream) is None
    assert read_record(io.BytesIO(b'50\n{"cut"')) is None  # a stream that ends mid-record


def test_mesos_master_forms() -> None:
    assert split_endpoint("mesos-master:5050") == ("mesos-master", 5050)
    assert split_endpoint("10.0.0.1") == ("10.0.0.1", 5050)
    assert split_endpoint("http://127.0.0.1:1234/") == ("127.0.0.1", 1234)
    with pytest.raises(ToilUserError, match="not HOST:PORT"):
        split_endpoint("host:notaport")


def test_mesos_is_registered_under_toils_name_and_import_path() -> None:
    from toil.batchSystems.mesos.batchSystem import MesosBatchSystem as Facade
    from toil.runtime.batch import batch_system_class
    from toil.runtime.batch.remote.mesos.system import MesosBatchSystem

    assert batch_system_class("mesos") is MesosBatchSystem and issubclass(Facade, MesosBatchSystem)
    from toil.job import Job

    options = Job.Runner.getDefaultArgumentParser().parse_args(
        ["js", "--batchSystem", "mesos", "--mesosMaster", "m:5050", "--mesosRole", "r", "--mesosFrameworkId", "f"]
    )
    assert (options.mesos_endpoint, options.mesos_role, options.mesos_framework_id) == ("m:5050", "r", "f")
    assert options.mesos_name == "toil"
    assert Job.Runner.getDefaultArgumentParser().parse_args(["js", "--mesosEndpoint", "e:1"]).mesos_endpoint == "e:1"
