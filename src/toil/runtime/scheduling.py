"""The workflow's scheduling state: a pure, deterministic state machine over the IR.

It holds no I/O. The leader feeds it journaled records (``apply``), takes
runnable nodes from it (``take_ready``) and performs the effects it asks for
(``effects``: delete files, stop services, kill jobs, journal a record).
Replaying the same records gives the same state, which is what makes a
leader killed at any instant resumable.

Ordering rules (Toil's):
* a node is ready once every predecessor has reached the phase that holds it;
* a node's children are released after its run, once its services started;
* its follow-ons are released after its children's whole subtrees are done;
* it is done when its last phase is done and its services have stopped.

Records: ``init`` (root graph), ``ran`` (a run's RunRecord), ``fail``
(a failed attempt), ``svc_started``, ``reset`` (restart a checkpoint),
``revive`` (a restart gives failed jobs their tries back).
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Iterable, Literal, NotRequired, TypedDict

from toil.compiler.ir import KIND_NOOP, KIND_SERVICE, NodeSpec, Resources, RunRecord, decode_value, encode_value
from toil.exceptions import JobStoreCorruptError
from toil.runtime.protocol import (
    DeleteFiles,
    Effect,
    FailRecord,
    JsonDict,
    KillNodes,
    RecordToJournal,
    ResetRecord,
    ScheduleRetry,
    StopServices,
)


class NodeStatus(enum.IntEnum):
    """Where a node is in its life (an int in snapshots, so they stay readable across versions)."""

    WAITING = 0  # for predecessors
    READY = 1  # to be issued
    ISSUED = 2  # an attempt is out with the batch system
    RAN = 3  # its run is recorded; its successors or services are under way
    FAILED = 4  # permanently
    STOPPED = 5  # abandoned: its checkpoint is being reset

    @property
    def label(self) -> str:
        """The status's name in counts and ``toil status`` ("waiting", "ready", ...)."""
        return self.name.lower()


# short names for the state machine's many comparisons
WAITING, READY, ISSUED, RAN, FAILED, STOPPED = NodeStatus

JobState = Literal["queued", "issued", "running", "finished", "failed", "waiting", "services"]
JOB_STATES: tuple[JobState, ...] = ("queued", "issued", "running", "finished", "failed", "waiting", "services")


class JobCounts(TypedDict):
    """Jobs by state, as ``toil status`` and the status file report them (``WorkflowState.job_counts``)."""

    queued: int
    issued: int
    running: int
    finished: int
    failed: int
    waiting: int
    services: int


class NodeJson(TypedDict):
    """A node in a snapshot of the state (``Node.to_json``): short keys, as there may be many thousands."""

    spec: JsonDict  # NodeSpec.to_json
    st: int  # NodeStatus (an issued node is saved as ready)
    np: int  # npreds
    rl: int  # released
    pr: list[str]  # preds
    ph: int  # phase
    pe: int  # pending
    ep: int  # epoch
    tl: int  # tries_left
    c: list[str]  # children
    f: list[str]  # followons
    s: list[list[str | None]]  # services: [service id, parent service id or null]
    cl: list[str]  # cleanup
    cr: str | None  # creator
    ab: str | None  # abandoned
    rs: bool  # resetting
    sw: int  # svc_waiting
    sl: int  # svc_live
    sp: bool  # stopping
    bg: bool  # begun
    ow: str | None  # owner
    ps: str | None  # parent_service
    sd: bool  # started
    m: int | None  # memory


class StateJson(TypedDict):
    """The whole state in a snapshot (``WorkflowState.to_json``, the journal snapshot's ``state``)."""

    root: str | None
    root_done: bool
    done: int  # done_count
    failed: dict[str, str]  # permanently failed node id -> label
    ready: list[str]  # ready node ids, in order (issued nodes last: they are saved as ready)
    nodes: list[NodeJson]
    returns: NotRequired[dict[str, str]]  # node id -> its return value carried in the journal (base64)
    refs: NotRequired[dict[str, list[str]]]  # node id -> producers whose promises its return value holds


class Node:
    """The runtime state of one node of the graph."""

    __slots__ = (
        "spec",
        "status",
        "npreds",
        "released",
        "preds",
        "phase",
        "pending",
        "epoch",
        "tries_left",
        "children",
        "followons",
        "services",
        "cleanup",
        "creator",
        "abandoned",
        "resetting",
        "svc_waiting",
        "svc_live",
        "stopping",
        "begun",
        "owner",
        "parent_service",
        "started",
        "memory",
    )

    def __init__(self, spec: NodeSpec, creator: str | None, tries: int) -> None:
        self.spec = spec
        self.status: NodeStatus = WAITING
        self.npreds = 0
        self.released = 0
        self.preds: list[str] = []
        self.phase = 0
        self.pending = 0
        self.epoch = 0
        self.tries_left = tries
        self.children = list(spec.children)
        self.followons = list(spec.followons)
        self.services = list(spec.services)
        self.cleanup: list[str] = []
        self.creator = creator
        self.abandoned: str | None = None  # id of the checkpoint whose subtree is being reset
        self.resetting = False
        self.svc_waiting = 0  # services not yet started
        self.svc_live = 0  # services not yet finished
        self.stopping = False
        self.begun = False  # phases have begun (services had started)
        self.owner: str | None = None  # for a service node: the job that owns it
        self.parent_service: str | None = None
        self.started = False
        self.memory: int | None = None  # memory override after an out-of-memory kill

    @property
    def id(self) -> str:
        return self.spec.id

    def to_json(self) -> NodeJson:
        status = READY if self.status == ISSUED else self.status
        d: NodeJson = {
            "spec": self.spec.to_json(),
            "st": status,
            "np": self.npreds,
            "rl": self.released,
            "pr": self.preds,
            "ph": self.phase,
            "pe": self.pending,
            "ep": self.epoch,
            "tl": self.tries_left,
            "c": self.children,
            "f": self.followons,
            "s": [list(s) for s in self.services],
            "cl": self.cleanup,
            "cr": self.creator,
            "ab": self.abandoned,
            "rs": self.resetting,
            "sw": self.svc_waiting,
            "sl": self.svc_live,
            "sp": self.stopping,
            "bg": self.begun,
            "ow": self.owner,
            "ps": self.parent_service,
            "sd": self.started,
            "m": self.memory,
        }
        return d

    @classmethod
    def from_json(cls, d: NodeJson) -> "Node":
        n = cls.__new__(cls)  # every field is set below: skip __init__'s defaults (restart speed)
        n.spec, n.creator, n.tries_left = NodeSpec.from_json(d["spec"]), d["cr"], d["tl"]
        n.status, n.npreds, n.released, n.preds = NodeStatus(d["st"]), d["np"], d["rl"], list(d["pr"])
        n.phase, n.pending, n.epoch = d["ph"], d["pe"], d["ep"]
        n.children, n.followons = list(d["c"]), list(d["f"])
        n.services = [(str(s[0]), s[1]) for s in d["s"]]
        n.cleanup, n.abandoned, n.resetting = list(d["cl"]), d["ab"], d["rs"]
        n.svc_waiting, n.svc_live, n.stopping, n.begun = d["sw"], d["sl"], d["sp"], d["bg"]
        n.owner, n.parent_service, n.started, n.memory = d["ow"], d["ps"], d["sd"], d["m"]
        return n


def attempt_resources(node: Node) -> Resources:
    """What the node's next attempt asks for: memory raised after an out-of-memory kill, and no longer
    preemptible once its preemptible attempts (``preemptible_tries``) are used up."""
    r = node.spec.resources
    preemptible = r.preemptible
    if preemptible and node.spec.preemptible_tries is not None and node.epoch >= node.spec.preemptible_tries:
        preemptible = False
    memory = node.memory if node.memory is not None else r.memory
    if memory != r.memory or preemptible != r.preemptible:
        r = Resources(r.cores, memory, r.disk, r.accelerators, preemptible)
    return r


class WorkflowState:
    """All live nodes and what happens to them; see the module docstring."""

    def __init__(self, default_retries: int) -> None:
        self.default_retries = default_retries
        self.nodes: dict[str, Node] = {}
        self.root: str | None = None
        self.root_done = False
        self.done_count = 0
        self.failed: dict[str, str] = {}  # permanently failed node id -> label
        self.gate: set[str] = set()  # services restarting after a leader restart
        self.effects: list[Effect] = []
        self._ready: deque[str] = deque()
        # Small return values that runs' records carried (the journal is their only copy), kept for the jobs that
        # read them, and the producers each return value refers to (promises of promises), by node id.
        self.returns: dict[str, bytes] = {}
        self.return_refs: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ records
    def apply(self, rec: JsonDict) -> None:
        t = rec.get("t")
        if t == "ran":
            self._ran(RunRecord.from_json(rec))
        elif t == "fail":
            self._fail(FailRecord.from_json(rec))
        elif t == "svc_started":
            self._svc_started(rec["id"])
        elif t == "reset":
            self._reset(rec["id"])
        elif t == "revive":
            self._revive()
        elif t == "init":
            self._init(rec)
        else:
            raise JobStoreCorruptError(
                f"unknown journal record type {t!r}; was this job store written by a newer version?"
            )

    def _init(self, rec: JsonDict) -> None:
        specs = [NodeSpec.from_json(n) for n in rec["nodes"]]
        self.root = rec["root"]
        self._add_nodes(specs, creator=None)
        self._make_ready(self.nodes[self.root], None)

    def total_tries(self, spec: NodeSpec) -> int:
        """How many times a node may run: once, plus its retries."""
        return 1 + (self.default_retries if spec.retries is None else spec.retries)

    def _add_nodes(self, specs: Iterable[NodeSpec], creator: str | None) -> None:
        specs = list(specs)
        for spec in specs:
            self.nodes[spec.id] = Node(spec, creator, self.total_tries(spec))
        for spec in specs:
            self._link(spec.id, spec.children + spec.followons, spec.services)

    def _link(self, pred: str, successors: list[str], services: list[tuple[str, str | None]]) -> None:
        try:
            for sid in successors:
                succ = self.nodes[sid]
                succ.npreds += 1
                succ.preds.append(pred)
            for sid, parent in services:
                svc = self.nodes[sid]
                svc.owner, svc.parent_service = pred, parent
        except KeyError as e:
            raise JobStoreCorruptError(f"node {pred} refers to unknown node {e.args[0]}") from None

    # ------------------------------------------------------------------ a run finished
    def _current(self, node_id: str, epoch: int) -> Node | None:
        n = self.nodes.get(node_id)
        if n is None or n.epoch != epoch or n.status not in (READY, ISSUED):
            return None  # a stale report: the node was reset, retried or already recorded
        return n

    def _attempt_ended(self, node_id: str, epoch: int) -> Node | None:
        """The node whose current attempt just ended, or None if the report is stale or the node abandoned."""
        n = self._current(node_id, epoch)
        if n is not None and n.abandoned:
            n.status = STOPPED
            self._check_quiescent(n.abandoned)
            return None
        return n

    def _ran(self, r: RunRecord) -> None:
        n = self._attempt_ended(r.id, r.epoch)
        if n is None:
            return
        self._add_nodes(r.add, creator=n.id)
        n.children += r.children
        n.followons += r.followons
        n.services += r.services
        self._link(n.id, r.children + r.followons, r.services)
        n.cleanup += r.cleanup_files
        self._keep_return(n.id, r)
        if r.delete_files:
            self.effects.append(DeleteFiles(list(r.delete_files)))
        n.status = RAN
        if n.spec.kind == KIND_SERVICE:
            self._service_finished(n)
        else:
            self._after_run(n)

    def _keep_return(self, node_id: str, r: RunRecord) -> None:
        """Remember what a recorded run says of its return value (a re-run replaces what an earlier one said)."""
        self.returns.pop(node_id, None)
        self.return_refs.pop(node_id, None)
        if r.return_value is not None:
            self.returns[node_id] = r.return_value
        if r.return_refs:
            self.return_refs[node_id] = list(r.return_refs)

    def values_for(self, reads: Iterable[str]) -> dict[str, bytes]:
        """The journal-held return values a job reading ``reads`` may need, following promises in values."""
        found: dict[str, bytes] = {}
        todo, seen = list(reads), set[str]()
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            value = self.returns.get(node_id)
            if value is not None:
                found[node_id] = value
            todo.extend(self.return_refs.get(node_id, ()))
        return found

    def _after_run(self, n: Node) -> None:
        if n.services:
            n.svc_waiting = n.svc_live = len(n.services)
            for sid, parent in n.services:
                if parent is None:
                    self._make_ready(self.nodes[sid], None)
            return
        self._advance([n])

    def _advance(self, work: list[Node]) -> None:
        """Move nodes to their next non-empty phase, releasing its successors; finish exhausted nodes."""
        while work:
            n = work.pop()
            if n.status != RAN or n.id not in self.nodes:
                continue
            n.begun = True
            while n.phase < 2:
                phase = n.children if n.phase == 0 else n.followons
                if phase:
                    n.pending = len(phase)
                    for sid in phase:
                        self._release(self.nodes[sid], work)
                    break
                n.phase += 1
            else:
                self._complete(n, work)

    def _release(self, s: Node, work: list[Node]) -> None:
        s.released += 1
        if s.released == s.npreds:
            self._make_ready(s, work)

    def _make_ready(self, s: Node, work: list[Node] | None) -> None:
        if s.spec.kind == KIND_NOOP:
            s.status = RAN
            if work is not None and not s.services:
                work.append(s)
            else:
                self._after_run(s)
            return
        s.status = READY
        self._ready.append(s.id)

    def _complete(self, n: Node, work: list[Node]) -> None:
        """All phases of n are done: stop its services, or finish it."""
        if n.svc_live > 0:
            if not n.stopping:
                n.stopping = True
                self.effects.append(StopServices([sid for sid, _ in n.services if sid in self.nodes]))
            return
        self._finish(n, work)

    def _finish(self, n: Node, work: list[Node]) -> None:
        del self.nodes[n.id]
        self.done_count += 1
        if n.cleanup:
            self.effects.append(DeleteFiles(list(n.cleanup)))
        if n.id == self.root:
            self.root_done = True
        for pid in n.preds:
            p = self.nodes.get(pid)
            if p is None or p.status != RAN or p.abandoned:
                continue
            p.pending -= 1
            if p.pending == 0:
                p.phase += 1
                work.append(p)

    # ------------------------------------------------------------------ services
    def _svc_started(self, sid: str) -> None:
        s = self.nodes.get(sid)
        if s is None or s.started or s.spec.kind != KIND_SERVICE:
            return
        s.started = True
        self.gate.discard(sid)
        owner = self.nodes.get(s.owner or "")
        if owner is None:
            return
        for child, parent in owner.services:
            if parent == sid and child in self.nodes:
                self._make_ready(self.nodes[child], None)
        owner.svc_waiting -= 1
        if owner.svc_waiting == 0 and not owner.begun and owner.status == RAN:
            self._advance([owner])

    def _service_finished(self, s: Node) -> None:
        if not s.started:
            self._svc_started(s.id)
        del self.nodes[s.id]
        self.done_count += 1
        owner = self.nodes.get(s.owner or "")
        if owner is None:
            return
        owner.svc_live -= 1
        if owner.svc_live == 0 and owner.stopping and owner.status == RAN:
            work: list[Node] = []
            self._finish(owner, work)
            self._advance(work)

    # ------------------------------------------------------------------ failures
    def _fail(self, rec: FailRecord) -> None:
        n = self._attempt_ended(rec.attempt.node_id, rec.attempt.epoch)
        if n is None:
            return
        n.epoch += 1
        if rec.memory:
            n.memory = rec.memory
        if rec.counts:
            n.tries_left -= 1
        if not rec.permanent and n.tries_left > 0:
            n.status = READY
            self._ready.append(n.id)
            self.effects.append(ScheduleRetry(n.id, self.total_tries(n.spec) - n.tries_left))
            return
        self._fail_permanently(n)

    def _fail_permanently(self, n: Node) -> None:
        n.status = FAILED
        self.failed[n.id] = n.spec.label()
        self.gate.discard(n.id)
        checkpoint = self._checkpoint_for(n)
        if checkpoint is not None:
            self._begin_reset(checkpoint)
            return
        if n.spec.kind == KIND_SERVICE and n.owner in self.nodes:
            owner = self.nodes[n.owner]
            others = [sid for sid, _ in owner.services if sid in self.nodes and sid != n.id]
            if others:
                self.effects.append(StopServices(others))
            if owner.status == RAN and not owner.begun:
                self._fail_permanently(owner)

    def _checkpoint_for(self, n: Node) -> Node | None:
        """The nearest checkpoint that created n (transitively) and can still be retried."""
        cid = n.creator
        while cid is not None:
            c = self.nodes.get(cid)
            if c is None:
                return None
            if c.spec.checkpoint and c.status == RAN and c.tries_left > 1 and not c.resetting:
                return c
            cid = c.creator
        return None

    def _subtree(self, c: Node) -> list[Node]:
        """Every live node created, directly or not, by c's run."""
        inside: dict[str, bool] = {c.id: True}
        out = []
        for node in self.nodes.values():
            chain = []
            cur: str | None = node.id
            verdict = False
            while cur is not None:
                if cur in inside:
                    verdict = inside[cur]
                    break
                chain.append(cur)
                parent = self.nodes.get(cur)
                cur = parent.creator if parent is not None else None
            for x in chain:
                inside[x] = verdict
            if verdict and node.id != c.id:
                out.append(node)
        return out

    def _begin_reset(self, c: Node) -> None:
        c.resetting = True
        running = []
        for x in self._subtree(c):
            x.abandoned = c.id
            if x.status == ISSUED:
                running.append(x.id)
            elif x.status == READY:
                x.status = STOPPED
        if running:
            self.effects.append(KillNodes(running))
        else:
            self.effects.append(RecordToJournal(ResetRecord(c.id)))

    def _check_quiescent(self, cid: str) -> None:
        c = self.nodes.get(cid)
        if c is None or not c.resetting:
            return
        if not any(x.status == ISSUED for x in self._subtree(c)):
            self.effects.append(RecordToJournal(ResetRecord(c.id)))

    def _reset(self, cid: str) -> None:
        c = self.nodes.get(cid)
        if c is None or not c.resetting:
            return
        for x in self._subtree(c):
            del self.nodes[x.id]
            self.failed.pop(x.id, None)
            self.gate.discard(x.id)
        c.children, c.followons = list(c.spec.children), list(c.spec.followons)
        c.services = list(c.spec.services)
        c.phase = c.pending = c.svc_waiting = c.svc_live = 0
        c.cleanup = []
        c.resetting = c.stopping = c.begun = False
        c.epoch += 1
        c.tries_left -= 1
        c.status = READY
        self._ready.append(c.id)

    def _revive(self) -> None:
        """A restart after the user fixed the cause: failed jobs get all their tries back."""
        for node_id in list(self.failed):
            n = self.nodes.get(node_id)
            if n is None or n.status != FAILED:
                continue
            n.tries_left = self.total_tries(n.spec)
            n.status = READY
            self._ready.append(n.id)
        self.failed.clear()

    # ------------------------------------------------------------------ driver interface
    def take_ready(self, limit: int | None = None) -> list[Node]:
        """Hand out runnable nodes (marking them issued). While services restart, only services."""
        out: list[Node] = []
        held: list[str] = []
        while self._ready and (limit is None or len(out) < limit):
            nid = self._ready.popleft()
            n = self.nodes.get(nid)
            if n is None or n.status != READY:
                continue
            if self.gate and n.spec.kind != KIND_SERVICE:
                held.append(nid)
                continue
            n.status = ISSUED
            out.append(n)
        self._ready.extendleft(reversed(held))
        return out

    def has_ready(self) -> bool:
        return any(self.nodes.get(i) is not None and self.nodes[i].status == READY for i in self._ready)

    def recover(self) -> None:
        """After replaying the journal of a dead leader: restart what died with it."""
        self.effects.clear()
        for n in list(self.nodes.values()):
            if n.spec.kind == KIND_SERVICE and n.status == READY and n.started:
                owner = self.nodes.get(n.owner or "")
                if owner is not None and owner.stopping:
                    n.status = RAN
                    self._service_finished(n)
                    continue
                n.started = False
                self.gate.add(n.id)
                if owner is not None:
                    owner.svc_waiting += 1
        for n in list(self.nodes.values()):
            if n.resetting:
                self._check_quiescent(n.id)

    def drain_effects(self) -> list[Effect]:
        out, self.effects = self.effects, []
        return out

    @property
    def finished(self) -> bool:
        return self.root_done

    def counts(self) -> dict[str, int]:
        c = {status.label: 0 for status in NodeStatus}
        for n in self.nodes.values():
            c[n.status.label] += 1
        c["done"] = self.done_count
        return c

    def job_counts(self, issued: int = 0, running: int = 0) -> JobCounts:
        """Jobs by state as ``toil status`` reports them, live (``issued``/``running``: the leader's attempts
        out with the batch system, and those of them that started) or from a journal replay (none known)."""
        c = self.counts()
        # issued nodes not yet running are queued: retries waiting out their backoff, jobs the batch system holds
        return {
            "queued": c["ready"] + c["issued"] - running,
            "issued": issued,
            "running": running,
            "finished": c["done"],
            "failed": len(self.failed),
            "waiting": c["waiting"] + c["ran"],
            "services": sum(1 for n in self.nodes.values() if n.spec.kind == KIND_SERVICE and n.status != WAITING),
        }

    # ------------------------------------------------------------------ snapshots
    def to_json(self) -> StateJson:
        ready = list(dict.fromkeys(i for i in self._ready if i in self.nodes and self.nodes[i].status == READY))
        ready += [i for i, n in self.nodes.items() if n.status == ISSUED]
        return {
            "root": self.root,
            "root_done": self.root_done,
            "done": self.done_count,
            "failed": self.failed,
            "ready": ready,
            "nodes": [n.to_json() for n in self.nodes.values()],
            "returns": {k: encode_value(v) for k, v in self.returns.items()},
            "refs": self.return_refs,
        }

    @classmethod
    def from_json(cls, data: StateJson, default_retries: int) -> "WorkflowState":
        st = cls(default_retries)
        st.root, st.root_done, st.done_count = data["root"], data["root_done"], data["done"]
        st.failed = dict(data["failed"])
        for nd in data["nodes"]:
            n = Node.from_json(nd)
            st.nodes[n.id] = n
        st._ready = deque(data["ready"])
        st.returns = {k: decode_value(v) for k, v in data.get("returns", {}).items()}
        st.return_refs = {k: list(v) for k, v in data.get("refs", {}).items()}
        return st
