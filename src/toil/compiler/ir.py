"""The intermediate representation: the job DAG the runtime executes.

Every front end (Toil's Python API, CWL, WDL) compiles into ``NodeSpec``
records. A node says what to run (``kind`` plus a ``payload``), what it needs
(``Resources``), and what runs after it:

* ``children`` run after the node's own run finishes, in parallel;
* ``followons`` run after the node and its whole child subtree finish;
* ``services`` start after the node runs and before its successors, and stop
  after them.

A node may have several predecessors; it waits for all of them. A running node
may add nodes below itself (dynamic expansion): its result lists the new nodes
and the successors it added. Values flow through promises: a consumer refers
to ``(producer id, index path)`` and reads the producer's return value: a
small one travels in the producer's RunRecord (the leader's journal keeps it
and hands it to the jobs whose ``reads`` name the producer), a large one is
stored in the job store.

The IR is plain JSON-able data with a version number, so the leader can
journal it and any worker can read it. Only user payloads are pickled.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

IR_VERSION = 1

# Node kinds the runtime knows how to run. Front ends register more.
KIND_PYTHON = "python"  # a pickled toil.job.Job
KIND_SERVICE = "service"  # a pickled Job.Service hosted by a job
KIND_NOOP = "noop"  # nothing to run: resolved by the leader itself


# What a job may ask for, by the names of Toil's Job(...) keywords (the fields of Resources).
RESOURCE_NAMES = ("disk", "memory", "cores", "accelerators", "preemptible")


@dataclass(frozen=True, slots=True)
class Resources:
    """What a job needs from the machine that runs it."""

    cores: float
    memory: int
    disk: int
    accelerators: tuple[tuple[tuple[str, Any], ...], ...] = ()
    preemptible: bool = False

    def to_json(self) -> list[Any]:
        return [self.cores, self.memory, self.disk, [dict(a) for a in self.accelerators], self.preemptible]

    @classmethod
    def from_json(cls, data: list[Any]) -> "Resources":
        cores, memory, disk, accel, preemptible = data
        if accel:
            return cls(float(cores), int(memory), int(disk), accelerators_key(accel), bool(preemptible))
        key = (cores, memory, disk, preemptible)
        r = _PLAIN_RESOURCES.get(key)
        if r is None:  # most jobs of a workflow share a few shapes: share the (immutable) objects too
            r = cls(float(cores), int(memory), int(disk), (), bool(preemptible))
            if len(_PLAIN_RESOURCES) < 4096:
                _PLAIN_RESOURCES[key] = r
        return r

    @property
    def accelerator_list(self) -> list[dict[str, Any]]:
        return [dict(a) for a in self.accelerators]

    @property
    def accelerator_count(self) -> int:
        return sum(int(dict(a).get("count", 1)) for a in self.accelerators)

    def fits_within(self, other: "Resources") -> bool:
        """True if a job needing ``self`` can run in an allocation of ``other``."""
        return (
            self.cores <= other.cores
            and self.memory <= other.memory
            and self.disk <= other.disk
            and self.accelerator_count <= other.accelerator_count
            and (self.preemptible or not other.preemptible)
        )

    def capped(self, limits: "Resources") -> "Resources":
        """Cores, memory and disk no larger than ``limits`` (accelerators and preemptibility kept)."""
        return Resources(
            min(self.cores, limits.cores),
            min(self.memory, limits.memory),
            min(self.disk, limits.disk),
            self.accelerators,
            self.preemptible,
        )

    def describe(self) -> str:
        from toil.lib.conversions import bytes2human

        cores = int(self.cores) if float(self.cores).is_integer() else self.cores
        text = f"{cores} core(s), {bytes2human(self.memory)} memory, {bytes2human(self.disk)} disk"
        if self.accelerators:
            text += f", {self.accelerator_count} accelerator(s)"
        return text


_PLAIN_RESOURCES: dict[tuple[Any, ...], Resources] = {}


def accelerators_key(accelerators: Iterable[Mapping[str, Any]] | None) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """A hashable, order-stable form of a list of accelerator dicts."""
    return tuple(tuple(sorted(dict(a).items())) for a in (accelerators or ()))


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where a node's pickled payload lives: a slice of a pack file in the job store."""

    pack: str
    offset: int
    length: int

    def to_json(self) -> list[Any]:
        return [self.pack, self.offset, self.length]

    @classmethod
    def from_json(cls, data: list[Any]) -> "PayloadRef":
        return cls(str(data[0]), int(data[1]), int(data[2]))


@dataclass(slots=True)
class NodeSpec:
    """One node of the job DAG, as compiled."""

    id: str
    kind: str
    name: str  # the job's kind of work, e.g. class or function name (stats group by it)
    display: str  # the name shown to people
    resources: Resources
    payload: PayloadRef | None = None
    retries: int | None = None  # None: the workflow's --retryCount
    checkpoint: bool = False
    children: list[str] = field(default_factory=list)
    followons: list[str] = field(default_factory=list)
    # (service node id, parent service id or None); services are nodes of kind 'service'
    services: list[tuple[str, str | None]] = field(default_factory=list)
    keep_return: bool = False  # someone reads this node's return value
    unit: str = ""  # Toil's unitName
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific data (JSON)
    # Cromwell's `preemptible: N`: the first N attempts may run preemptible, later ones may not (None: all)
    preemptible_tries: int | None = None
    reads: list[str] = field(default_factory=list)  # producers whose return values this node's promises read

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "k": self.kind, "n": self.name, "r": self.resources.to_json()}
        if self.payload is not None:
            d["p"] = self.payload.to_json()
        if self.retries is not None:
            d["rt"] = self.retries
        return _put_set(
            d,
            d=self.display if self.display != self.name else None,
            cp=int(self.checkpoint),
            c=self.children,
            f=self.followons,
            s=[list(s) for s in self.services],
            kr=int(self.keep_return),
            u=self.unit,
            x=self.extra,
            pt=self.preemptible_tries,
            rd=self.reads,
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "NodeSpec":
        # Positional and branch-light: a restart or 'toil status' builds one per job of the workflow.
        get = d.get
        name, payload, children, followons = d["n"], get("p"), get("c"), get("f")
        services, extra, reads = get("s"), get("x"), get("rd")
        return cls(
            d["id"],
            d["k"],
            name,
            get("d", name),
            Resources.from_json(d["r"]),
            PayloadRef(str(payload[0]), int(payload[1]), int(payload[2])) if payload else None,
            get("rt"),
            bool(get("cp")),
            list(children) if children else [],
            list(followons) if followons else [],
            [(s[0], s[1]) for s in services] if services else [],
            bool(get("kr")),
            get("u", ""),
            dict(extra) if extra else {},
            get("pt"),
            list(reads) if reads else [],
        )

    def label(self) -> str:
        """How logs name this node: its display name and id."""
        return f"'{self.display}' {self.id}"


@dataclass(slots=True)
class RunRecord:
    """What one finished run of a node adds to the graph (the worker's result, the leader's journal)."""

    id: str
    epoch: int
    add: list[NodeSpec] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    followons: list[str] = field(default_factory=list)
    services: list[tuple[str, str | None]] = field(default_factory=list)
    delete_files: list[str] = field(default_factory=list)  # deleteGlobalFile, done after the run is recorded
    cleanup_files: list[str] = field(default_factory=list)  # cleanup=True files, deleted when the subtree is done
    # A small return value travels in the record (the journal keeps it) instead of as an object of its own;
    # return_refs: the producers whose promises the return value holds, so readers get their values too.
    return_value: bytes | None = None
    return_refs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _put_set(
            {"t": "ran", "id": self.id, "e": self.epoch},
            add=[n.to_json() for n in self.add],
            c=self.children,
            f=self.followons,
            s=[list(s) for s in self.services],
            rv=encode_value(self.return_value) if self.return_value is not None else None,
            rr=self.return_refs,
            **{"del": self.delete_files, "cln": self.cleanup_files},
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "RunRecord":
        return cls(
            id=d["id"],
            epoch=int(d["e"]),
            add=[NodeSpec.from_json(n) for n in d.get("add", ())],
            children=list(d.get("c", ())),
            followons=list(d.get("f", ())),
            services=[(s[0], s[1]) for s in d.get("s", ())],
            delete_files=list(d.get("del", ())),
            cleanup_files=list(d.get("cln", ())),
            return_value=decode_value(d["rv"]) if "rv" in d else None,
            return_refs=list(d.get("rr", ())),
        )


def encode_value(data: bytes) -> str:
    """A return value as JSON carries it (records, worker messages)."""
    return base64.b64encode(data).decode("ascii")


def decode_value(text: str) -> bytes:
    return base64.b64decode(text)


def _put_set(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Add the fields that are set (non-empty, non-zero): records stay small in the journal."""
    for key, value in fields.items():
        if value:
            record[key] = value
    return record
