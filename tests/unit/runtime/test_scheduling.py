"""The scheduling state machine: ordering, failures, checkpoints, services, replay."""

from __future__ import annotations

import json

import pytest

from toil.compiler.ir import KIND_NOOP, KIND_PYTHON, KIND_SERVICE, NodeSpec, Resources, RunRecord
from toil.runtime.protocol import Effect, KillNodes, RecordToJournal, StopServices
from toil.runtime.scheduling import FAILED, READY, WorkflowState

R = Resources(1.0, 1024, 1024)


def spec(
    node_id: str, children=(), followons=(), kind=KIND_PYTHON, checkpoint=False, services=(), retries=None
) -> NodeSpec:
    return NodeSpec(
        id=node_id,
        kind=kind,
        name=node_id,
        display=node_id,
        resources=R,
        children=list(children),
        followons=list(followons),
        checkpoint=checkpoint,
        services=list(services),
        retries=retries,
    )


class Driver:
    """Plays the leader: takes ready nodes, journals records, applies them."""

    def __init__(self, nodes: list[NodeSpec], retries: int = 1) -> None:
        self.state = WorkflowState(retries)
        self.journal: list[dict] = []
        self.effects: list[Effect] = []
        self.order: list[str] = []
        self.apply({"t": "init", "root": nodes[0].id, "nodes": [n.to_json() for n in nodes]})

    def apply(self, rec: dict) -> None:
        self.journal.append(rec)
        self.state.apply(rec)
        for effect in self.state.drain_effects():
            self.effects.append(effect)
            if isinstance(effect, RecordToJournal):
                self.apply(effect.record.to_json())

    def ready(self) -> list[str]:
        return sorted(n.id for n in self.state.take_ready())

    def ran(self, node_id: str, **kw) -> None:
        node = self.state.nodes[node_id]
        self.order.append(node_id)
        self.apply(RunRecord(id=node_id, epoch=node.epoch, **kw).to_json())

    def fail(self, node_id: str, **kw) -> None:
        node = self.state.nodes[node_id]
        self.apply({"t": "fail", "id": node_id, "e": node.epoch, **kw})


def test_children_run_after_parent_and_followons_after_child_subtrees():
    d = Driver(
        [
            spec("root", children=["a", "b"], followons=["f"]),
            spec("a", children=["a1"]),
            spec("a1"),
            spec("b"),
            spec("f"),
        ]
    )
    assert d.ready() == ["root"]
    d.ran("root")
    assert d.ready() == ["a", "b"]
    d.ran("a")
    d.ran("b")
    assert d.ready() == ["a1"]  # f waits for a's whole subtree
    d.ran("a1")
    assert d.ready() == ["f"]
    d.ran("f")
    assert d.state.finished


def test_node_with_two_predecessors_waits_for_both():
    d = Driver([spec("root", children=["a", "b"]), spec("a", children=["c"]), spec("b", children=["c"]), spec("c")])
    d.ready()
    d.ran("root")
    d.ready()
    d.ran("a")
    assert d.ready() == []
    d.ran("b")
    assert d.ready() == ["c"]
    d.ran("c")
    assert d.state.finished


def test_dynamic_children_are_added_by_a_run():
    d = Driver([spec("root")])
    d.ready()
    d.ran("root", add=[spec("x", followons=["y"]), spec("y")], children=["x"])
    assert d.ready() == ["x"]
    d.ran("x")
    assert d.ready() == ["y"]
    d.ran("y")
    assert d.state.finished


def test_noop_nodes_are_resolved_without_running():
    d = Driver(
        [
            spec("root", children=["wrap"]),
            spec("wrap", kind=KIND_NOOP, children=["w"], followons=["after"]),
            spec("w"),
            spec("after"),
        ]
    )
    d.ready()
    d.ran("root")
    assert d.ready() == ["w"]
    d.ran("w")
    assert d.ready() == ["after"]


def test_failure_is_retried_then_permanent():
    d = Driver([spec("root", children=["a"]), spec("a")], retries=1)
    d.ready()
    d.ran("root")
    assert d.ready() == ["a"]
    d.fail("a")
    assert d.ready() == ["a"]  # the second of two tries
    assert d.state.nodes["a"].epoch == 1
    d.fail("a")
    assert d.state.nodes["a"].status == FAILED
    assert "a" in d.state.failed
    assert d.ready() == [] and not d.state.finished


def test_a_stale_report_is_ignored():
    d = Driver([spec("root")])
    d.ready()
    d.apply({"t": "fail", "id": "root", "e": 0})
    d.apply(RunRecord(id="root", epoch=0).to_json())  # from the attempt that already failed
    assert d.state.nodes["root"].status == READY


def test_checkpoint_restarts_its_subtree_when_a_descendant_finally_fails():
    d = Driver([spec("root", children=["cp"]), spec("cp", checkpoint=True, retries=2)], retries=0)
    d.ready()
    d.ran("root")
    assert d.ready() == ["cp"]
    d.ran("cp", add=[spec("c1", children=["c2"]), spec("c2")], children=["c1"])
    assert d.ready() == ["c1"]
    d.ran("c1")
    assert d.ready() == ["c2"]
    d.fail("c2")  # no retries: the checkpoint takes over
    assert "c1" not in d.state.nodes and "c2" not in d.state.nodes
    assert d.ready() == ["cp"]
    assert d.state.nodes["cp"].epoch == 1
    assert d.journal[-1] == {"t": "reset", "id": "cp"}
    d.ran("cp", add=[spec("c3")], children=["c3"])
    assert d.ready() == ["c3"]
    d.ran("c3")
    assert d.state.finished and not d.state.failed


def test_checkpoint_reset_waits_for_running_jobs_of_its_subtree():
    d = Driver([spec("root", children=["cp"]), spec("cp", checkpoint=True, retries=2)], retries=0)
    d.ready()
    d.ran("root")
    d.ready()
    d.ran("cp", add=[spec("x"), spec("y")], children=["x", "y"])
    assert d.ready() == ["x", "y"]  # both issued
    d.state.apply({"t": "fail", "id": "x", "e": 0})
    effects = d.state.drain_effects()
    assert KillNodes(["y"]) in effects  # y still runs: kill it before resetting
    d.apply(RunRecord(id="y", epoch=0).to_json())  # y ends (killed or not): now quiescent
    assert d.journal[-1] == {"t": "reset", "id": "cp"}
    assert d.ready() == ["cp"]


def test_services_start_before_successors_and_stop_after():
    d = Driver(
        [
            spec("root", children=["owner"]),
            spec("owner", children=["user"], services=[("svc", None)]),
            spec("svc", kind=KIND_SERVICE),
            spec("user"),
        ]
    )
    d.ready()
    d.ran("root")
    assert d.ready() == ["owner"]
    d.ran("owner")
    assert d.ready() == ["svc"]  # successors wait for the service
    d.apply({"t": "svc_started", "id": "svc"})
    assert d.ready() == ["user"]
    d.ran("user")
    assert StopServices(["svc"]) in d.effects
    assert not d.state.finished  # owner waits for its service to stop
    d.ran("svc")
    assert d.state.finished


def test_replaying_the_journal_gives_the_same_state():
    d = Driver([spec("root", children=["a", "b"], followons=["f"]), spec("a"), spec("b"), spec("f")])
    d.ready()
    d.ran("root")
    d.ready()
    d.ran("a")
    d.fail("b")
    replay = WorkflowState(1)
    for rec in d.journal:
        replay.apply(rec)
    replay.drain_effects()
    assert _canonical(replay) == _canonical(d.state)


def test_snapshot_round_trip_continues_identically():
    d = Driver([spec("root", children=["a", "b"]), spec("a"), spec("b")])
    d.ready()
    d.ran("root")
    snap = json.loads(json.dumps(d.state.to_json()))
    restored = WorkflowState.from_json(snap, 1)
    assert sorted(n.id for n in restored.take_ready()) == ["a", "b"]  # issued nodes come back ready


def test_recover_restarts_services_and_holds_other_jobs_until_they_start():
    d = Driver(
        [
            spec("root", children=["owner"]),
            spec("owner", children=["u1", "u2"], services=[("svc", None)]),
            spec("svc", kind=KIND_SERVICE),
            spec("u1"),
            spec("u2"),
        ]
    )
    d.ready()
    d.ran("root")
    d.ready()
    d.ran("owner")
    d.ready()
    d.apply({"t": "svc_started", "id": "svc"})
    d.ready()
    d.ran("u1")
    replay = WorkflowState(1)
    for rec in d.journal:
        replay.apply(rec)
    replay.recover()
    assert [n.id for n in replay.take_ready()] == ["svc"]  # u2 waits for the service to start again
    replay.apply({"t": "svc_started", "id": "svc"})
    assert [n.id for n in replay.take_ready()] == ["u2"]


def _canonical(state: WorkflowState) -> str:
    data = state.to_json()
    data["nodes"] = sorted(data["nodes"], key=lambda n: n["spec"]["id"])
    data["ready"] = sorted(data["ready"])
    return json.dumps(data, sort_keys=True)


def test_unknown_record_type_is_a_clear_error():
    state = WorkflowState(1)
    from toil.exceptions import JobStoreCorruptError

    with pytest.raises(JobStoreCorruptError, match="unknown journal record"):
        state.apply({"t": "bogus"})


def test_statuses_are_reported():
    d = Driver([spec("root", children=["a"]), spec("a")])
    assert d.state.counts()["ready"] == 1
    d.ready()
    assert d.state.counts()["issued"] == 1
    d.ran("root")
    assert d.state.counts()["ran"] == 1 and d.state.nodes["a"].status == READY
    assert [d.state.nodes[n].status.label for n in ("root", "a")] == ["ran", "ready"]


def test_preemptible_attempts_run_out_then_regular_nodes_and_memory_overrides() -> None:
    from toil.compiler.ir import NodeSpec, Resources
    from toil.runtime.scheduling import Node, attempt_resources

    spec = NodeSpec(
        id="n", kind="wdl", name="t", display="t", resources=Resources(1, 100, 0, (), True), preemptible_tries=2
    )
    assert NodeSpec.from_json(spec.to_json()).preemptible_tries == 2
    node = Node(spec, None, 5)
    assert attempt_resources(node).preemptible
    node.epoch = 2
    assert not attempt_resources(node).preemptible
    node.memory = 400
    assert attempt_resources(node).memory == 400 and attempt_resources(node).cores == 1
    always = Node(NodeSpec(id="m", kind="wdl", name="t", display="t", resources=Resources(1, 1, 0, (), True)), None, 5)
    always.epoch = 9
    assert attempt_resources(always).preemptible


def test_return_values_carried_by_runs_are_kept_for_readers_through_promises_and_snapshots():
    d = Driver([spec("root", children=["a"], followons=["f"]), spec("a"), spec("f")])
    d.ready()
    # root's value holds a promise of a's; a's value is small enough to travel in its record
    d.ran("root", return_value=b"root-value", return_refs=["a"])
    d.ready()
    d.ran("a", return_value=b"a-value")
    assert d.state.values_for(["root"]) == {"root": b"root-value", "a": b"a-value"}
    assert d.state.values_for(["f"]) == {}  # f has not run: it has no value to give
    restored = WorkflowState.from_json(json.loads(json.dumps(d.state.to_json())), 1)
    assert restored.values_for(["root"]) == {"root": b"root-value", "a": b"a-value"}
    replay = WorkflowState(1)
    for rec in d.journal:
        replay.apply(rec)
    assert replay.values_for(["root"]) == d.state.values_for(["root"])


def test_a_stale_run_report_does_not_change_a_return_value():
    d = Driver([spec("root", children=["a"]), spec("a")])
    d.ready()
    d.ran("root", return_value=b"first")
    d.apply(RunRecord(id="root", epoch=0, return_value=b"stale").to_json())
    assert d.state.values_for(["root"]) == {"root": b"first"}
