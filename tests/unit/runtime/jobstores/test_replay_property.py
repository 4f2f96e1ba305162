"""Replay is exact: for generated runs of a small random workflow, three ways to the state agree.

(a) replaying every record the journal returns, (b) the live state that
applied them as a leader does (issuing ready nodes, acting on effects), and
(c) a snapshot written at a random point plus the records after it. Each
journal implementation (file and memory) is checked.

States are compared by ``to_json()`` with the ready list sorted: the order in
which ready nodes will be issued is changed by the live leader's issuing and
is not part of what a restart must recover; which nodes are ready is.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.runtime.jobstores.memory_driver import MemoryDriver
from tests.unit.runtime.jobstores.memory_store import MemoryBackend, MemoryJournal
from toil.compiler.ir import KIND_PYTHON, NodeSpec, Resources, RunRecord
from toil.runtime.jobstores.file.journal import FileJournal
from toil.runtime.jobstores.journal import Journal
from toil.runtime.jobstores.object.journal import ObjectJournal
from toil.runtime.protocol import Attempt, FailRecord, KillNodes, RecordToJournal, ReviveRecord
from toil.runtime.scheduling import WorkflowState

R = Resources(1.0, 1024, 1024)
MAX_NODES = 14


def spec(node_id: str, children: list[str], followons: list[str], checkpoint: bool, retries: int | None) -> NodeSpec:
    return NodeSpec(
        id=node_id,
        kind=KIND_PYTHON,
        name=node_id,
        display=node_id,
        resources=R,
        children=children,
        followons=followons,
        checkpoint=checkpoint,
        retries=retries,
    )


@st.composite
def graphs(draw: Any) -> list[NodeSpec]:
    """A valid Toil graph: a tree below the root, where a node may also wait for a sibling of its parent,
    and checkpoints are leaves.

    Any other second predecessor could make a node wait for its own subtree (a follow-on of an ancestor
    that is also a child below it), which Toil refuses as a deadlock before it runs.
    """
    n = draw(st.integers(1, 6))
    edges: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in range(n)}
    parent_of: dict[int, tuple[int, int]] = {}  # node -> (its parent, 0: child of it, 1: follow-on)
    for i in range(1, n):
        p, kind = draw(st.integers(0, i - 1)), draw(st.integers(0, 1))
        parent_of[i] = (p, kind)
        parents = [(p, kind)]
        siblings = [q for q in range(i) if q != p and p in parent_of and parent_of.get(q) == parent_of[p]]
        if siblings and draw(st.booleans()):
            parents.append((draw(st.sampled_from(siblings)), draw(st.integers(0, 1))))
        for q, k in parents:
            edges[q][k].append(f"s{i}")
    # Toil's rule: a checkpoint is a leaf when it is added (what it runs adds its subtree)
    return [
        spec(f"s{i}", c, f, not (c or f) and draw(st.booleans()), draw(st.none() | st.integers(0, 2)))
        for i, (c, f) in edges.items()
    ]


@dataclass
class Run:
    """The live leader: its state, what it journaled, what is out with the batch system."""

    state: WorkflowState
    records: list[dict[str, Any]] = field(default_factory=list)
    issued: list[tuple[str, int]] = field(default_factory=list)  # attempts handed out, not yet reported
    killed: list[tuple[str, int]] = field(default_factory=list)  # attempts killed, their end not reported
    reported: list[tuple[str, int]] = field(default_factory=list)  # attempts whose end was reported
    added: int = 0

    def commit(self, batch: list[dict[str, Any]], journal: Callable[[list[dict[str, Any]]], None]) -> None:
        """Journal records, then apply them and act on their effects, as Leader._commit does."""
        while batch:
            journal(batch)
            self.records += batch
            for rec in batch:
                self.state.apply(rec)
            batch = self.perform()

    def perform(self) -> list[dict[str, Any]]:
        more = []
        for effect in self.state.drain_effects():
            if isinstance(effect, RecordToJournal):
                more.append(effect.record.to_json())
            elif isinstance(effect, KillNodes):
                wanted = set(effect.node_ids)
                self.killed += [a for a in self.issued if a[0] in wanted]
                self.issued = [a for a in self.issued if a[0] not in wanted]
        return more

    def issue(self) -> None:
        self.issued += [(n.id, n.epoch) for n in self.state.take_ready()]


def next_records(run: Run, draw: Any) -> list[dict[str, Any]] | None:
    """What the leader journals next (one report, or a revive), or None when nothing can happen."""
    choices = [
        k
        for k, possible in (
            ("ran", run.issued),
            ("fail", run.issued),
            ("killed", run.killed),
            ("stale", run.reported),
            ("revive", run.state.failed),
        )
        if possible
    ]
    if not choices:
        return None
    kind = draw(st.sampled_from(choices))
    if kind == "revive":
        return [ReviveRecord().to_json()]
    if kind == "stale":  # a report that arrives twice (a result read again after a restart)
        node_id, epoch = draw(st.sampled_from(run.reported))
        return [RunRecord(node_id, epoch).to_json()]
    pool = run.killed if kind == "killed" else run.issued
    attempt = pool.pop(draw(st.integers(0, len(pool) - 1)))
    run.reported.append(attempt)
    if kind == "killed":
        return [FailRecord(Attempt(*attempt), counts=False).to_json()]
    if kind == "fail":
        return [
            FailRecord(
                Attempt(*attempt),
                counts=draw(st.booleans()),
                permanent=draw(st.booleans()),
                memory=draw(st.none() | st.just(4096)),
            ).to_json()
        ]
    return [ran_record(run, attempt, draw)]


def ran_record(run: Run, attempt: tuple[str, int], draw: Any) -> dict[str, Any]:
    """A finished run, which may add nodes below it (a dynamic expansion)."""
    room = MAX_NODES - run.added
    k = draw(st.integers(0, min(2, max(0, room))))
    new = [
        spec(f"d{run.added + i}", [], [], draw(st.booleans()), draw(st.none() | st.integers(0, 1))) for i in range(k)
    ]
    run.added += k
    as_child = [draw(st.booleans()) for _ in new]
    return RunRecord(
        attempt[0],
        attempt[1],
        add=new,
        children=[s.id for s, c in zip(new, as_child) if c],
        followons=[s.id for s, c in zip(new, as_child) if not c],
    ).to_json()


def canonical(state_json: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(state_json))
    data["ready"] = sorted(data["ready"])
    return data


def replayed(snapshot: dict[str, Any] | None, records: list[dict[str, Any]], retries: int) -> WorkflowState:
    state = WorkflowState.from_json(snapshot["state"], retries) if snapshot else WorkflowState(retries)
    for rec in records:
        state.apply(rec)
    return state


def check_replay(make_journal: Callable[[], Journal], reopen: Callable[[Journal], Journal], data: Any) -> None:
    nodes = data.draw(graphs())
    retries = data.draw(st.integers(0, 2))
    plain, snapped = make_journal(), make_journal()  # (a) never snapshotted; (c) snapshotted once
    plain.load()
    snapped.load()

    def journal(batch: list[dict[str, Any]]) -> None:
        for j in (plain, snapped):
            j.append(batch)
            j.sync()

    run = Run(WorkflowState(retries))
    run.commit([{"t": "init", "root": nodes[0].id, "nodes": [n.to_json() for n in nodes]}], journal)
    snapshot_at = data.draw(st.integers(0, 30))
    for step in range(40):
        if step == snapshot_at:
            snapped.write_snapshot(run.state.to_json())
        run.issue()
        batch = next_records(run, data.draw)
        if batch is None:
            break
        run.commit(batch, journal)
    while run.killed:  # every kill is reported before the comparison
        run.commit([FailRecord(Attempt(*run.killed.pop()), counts=False).to_json()], journal)

    all_snapshot, all_records = reopen(plain).load()
    assert all_snapshot is None and all_records == run.records
    snapshot, rest = reopen(snapped).load()
    assert len(rest) == len(run.records) - (snapshot["seq"] if snapshot else 0)
    live = canonical(run.state.to_json())
    assert canonical(replayed(None, all_records, retries).to_json()) == live
    assert canonical(replayed(snapshot, rest, retries).to_json()) == live
    assert canonical(WorkflowState.from_json(run.state.to_json(), retries).to_json()) == live


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.data())
def test_replay_agrees_with_the_live_state_memory_journal(data: Any) -> None:
    backends: dict[int, MemoryBackend] = {}

    def make() -> Journal:
        journal = MemoryJournal(MemoryBackend())
        backends[id(journal)] = journal.backend
        return journal

    check_replay(make, lambda j: MemoryJournal(backends[id(j)]), data)


@PROPERTY
@given(st.data())
def test_replay_agrees_with_the_live_state_file_journal(data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:

        def make() -> Journal:
            return FileJournal(f"{tmp}/{uuid.uuid4().hex}")

        def reopen(journal: Journal) -> Journal:
            assert isinstance(journal, FileJournal)
            journal.close()
            return FileJournal(journal.dir)

        check_replay(make, reopen, data)


@PROPERTY
@given(st.data())
def test_replay_agrees_with_the_live_state_object_journal(data: Any) -> None:
    def make() -> Journal:
        driver = MemoryDriver(uuid.uuid4().hex)
        driver.create_container()
        return ObjectJournal(driver)

    def reopen(journal: Journal) -> Journal:
        assert isinstance(journal, ObjectJournal)
        return ObjectJournal(journal.driver)

    check_replay(make, reopen, data)
