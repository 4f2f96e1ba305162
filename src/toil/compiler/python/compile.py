"""Compile a graph of Toil ``Job`` objects into IR nodes and a payload pack.

Used twice with the same code: by the leader for the root graph, and by a
worker for the jobs a running job added (dynamic expansion). New jobs are
those without a node id. The result is a list of ``NodeSpec`` plus one pack of
pickled payloads, and, for a running job, the successors it added.

Checks, each a one-line error naming the jobs: cycles (including those made by
follow-ons, as Toil defines them), checkpoints that have successors when
added, promises passed to jobs that may run before the promising job, and
arguments that cannot be pickled.
"""

from __future__ import annotations

import pickle
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from toil.compiler.ir import KIND_NOOP, KIND_PYTHON, KIND_SERVICE, NodeSpec, PayloadRef, Resources, accelerators_key
from toil.compiler.python.job import Job, JobException, JobGraphDeadlockException, ServiceHostJob, is_noop
from toil.compiler.python.promise import (
    JobPromiseConstraintError,
    Promise,
    PromisedRequirement,
    pickling_context,
    with_reads,
)

if TYPE_CHECKING:
    from toil.runtime.config import Config


class JobPicklingError(JobException):
    """A job or one of its arguments cannot be pickled."""


def dumps(obj: Any) -> bytes:
    """Pickle by reference where possible (fast); fall back to cloudpickle for lambdas and local classes."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except JobPromiseConstraintError:
        raise
    except Exception:
        import cloudpickle  # no type information: its dumps is untyped

        data: bytes = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return data


def connected_jobs(start: Job) -> list[Job]:
    """Every job reachable from start through successor or predecessor edges."""
    seen: dict[int, Job] = {}
    todo = [start]
    while todo:
        job = todo.pop()
        if id(job) in seen:
            continue
        seen[id(job)] = job
        todo.extend(job._successors())
        todo.extend(job._directPredecessors)
    return list(seen.values())


def _new_jobs(start: Job) -> list[Job]:
    """start's successors (and start itself, if new) that have no node id yet, in discovery order."""
    out: list[Job] = []
    seen: set[int] = set()
    todo = [start]
    while todo:
        job = todo.pop()
        if id(job) in seen:
            continue
        seen.add(id(job))
        if job is not start or job._node_id is None:
            if job._node_id is not None:
                continue
            out.append(job)
        todo.extend(reversed(list(job._successors())))
    return out


def topological_order(start: Job) -> list[Job]:
    """New jobs reachable from start, each after all its predecessors (services excluded)."""
    jobs = [j for j in _new_jobs(start) if not isinstance(j, ServiceHostJob)]
    ids = {id(j) for j in jobs}
    indegree = {id(j): sum(1 for p in j._directPredecessors if id(p) in ids) for j in jobs}
    ready = [j for j in jobs if indegree[id(j)] == 0]
    out = []
    while ready:
        job = ready.pop(0)
        out.append(job)
        for s in list(job._children) + list(job._followOns):
            if id(s) in indegree:
                indegree[id(s)] -= 1
                if indegree[id(s)] == 0:
                    ready.append(s)
    return out


def _ordered_before(jobs: list[Job]) -> dict[int, list[Job]]:
    """For each job, the jobs that must finish before it starts (direct and follow-on implied edges)."""
    ids = {id(j) for j in jobs}
    before: dict[int, list[Job]] = {id(j): [] for j in jobs}
    subtree_cache: dict[int, list[Job]] = {}

    def subtree(job: Job) -> list[Job]:
        key = id(job)
        if key not in subtree_cache:
            seen: dict[int, Job] = {}
            todo = [job]
            while todo:
                j = todo.pop()
                if id(j) in seen or id(j) not in ids:
                    continue
                seen[id(j)] = j
                todo.extend(j._children)
                todo.extend(j._followOns)
            subtree_cache[key] = list(seen.values())
        return subtree_cache[key]

    for job in jobs:
        for s in list(job._children) + list(job._followOns):
            if id(s) in before:
                before[id(s)].append(job)
        if job._children and job._followOns:
            # Toil's implied edges: everything in the child subtrees finishes before each follow-on
            upper = [x for c in job._children for x in subtree(c)]
            for f in job._followOns:
                if id(f) in before:
                    before[id(f)].extend(upper)
    return before


def check_graph(running: Job | None, jobs: list[Job]) -> dict[int, list[Job]]:
    """Raise a clear error for cycles and misplaced checkpoints; return the ordering relation."""
    before = _ordered_before(jobs + ([running] if running is not None else []))
    # cycle check over the ordering relation, iteratively (graphs can be deep)
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {id(j): WHITE for j in jobs}
    for root in jobs:
        if colour[id(root)] != WHITE:
            continue
        stack: list[tuple[Job, Iterator[Job]]] = [(root, iter(before[id(root)]))]
        colour[id(root)] = GREY
        while stack:
            job, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[id(job)] = BLACK
                stack.pop()
                continue
            if id(nxt) not in colour:
                continue
            if colour[id(nxt)] == GREY:
                path = [j for j, _ in stack]
                start = next(i for i, j in enumerate(path) if j is nxt)
                names = " -> ".join(str(j) for j in reversed(path[start:] + [nxt]))
                raise JobGraphDeadlockException(f"a cycle of job dependencies: {names}")
            if colour[id(nxt)] == WHITE:
                colour[id(nxt)] = GREY
                stack.append((nxt, iter(before[id(nxt)])))
    for job in jobs:
        if job.checkpoint and job is not running and any(True for _ in job._successors()):
            raise JobGraphDeadlockException(
                f"the checkpoint job {job} has successors when added; a checkpoint must be a leaf when it is "
                f"added to the graph, and add its successors in its run()"
            )
    return before


@dataclass
class CompiledGraph:
    """New nodes, their payload pack, and what the running job (if any) added."""

    specs: list[NodeSpec] = field(default_factory=list)
    pack_name: str = ""
    pack: bytes = b""
    children: list[str] = field(default_factory=list)
    followons: list[str] = field(default_factory=list)
    services: list[tuple[str, str | None]] = field(default_factory=list)
    return_value: bytes | None = None
    return_refs: list[str] = field(default_factory=list)  # producers whose promises the return value holds


class _Compiler:
    """One compilation: ids, promise bookkeeping while pickling, then specs."""

    def __init__(
        self, config: Config | None, running: Job | None, jobs: list[Job], before: dict[int, list[Job]]
    ) -> None:
        self.config = config
        self.running = running
        self.jobs = jobs
        self.before = before
        self.prefix = uuid.uuid4().hex[:10]
        self.promised: set[int] = set()
        self.consumer: Job | None = None
        self.reads: list[str] = []  # producers the job (or return value) being pickled reads through promises
        self.reads_of: dict[int, list[str]] = {}  # id(job) -> the producers its payload reads
        self._pickling_return = False
        self._after_cache: dict[int, set[int]] = {}
        self.known = {id(j) for j in jobs}
        if running is not None:
            self.known.add(id(running))

    def assign_ids(self) -> None:
        for i, job in enumerate(self.jobs):
            job._node_id = f"{self.prefix}-{i:x}"
            if self.config is not None:
                job._config = self.config

    # -- promises (PromiseContext)
    def reference(self, promise: Promise) -> str:
        producer = promise.job
        if not isinstance(producer, Job) or producer._node_id is None or id(producer) not in self.known:
            raise JobPromiseConstraintError(
                producer, self.consumer, detail="the promising job is not part of this job graph"
            )
        if self.consumer is not None and not self._runs_before(producer, self.consumer):
            raise JobPromiseConstraintError(producer, self.consumer)
        self.promised.add(id(producer))
        if self.consumer is not None or self._pickling_return:
            self.reads.append(producer._node_id)
        return producer._node_id

    def _runs_before(self, producer: Job, consumer: Job) -> bool:
        if producer is self.running:
            return True  # every new job is a successor of the running job
        if isinstance(producer, ServiceHostJob):
            owners = [j for j in self.jobs if any(h is producer for h, _ in j._services)]
            owner = owners[0] if owners else self.running
            return owner is not None and (
                owner is consumer or self._runs_before(owner, consumer) or owner is self.running
            )
        return id(producer) in self._ancestors(consumer)

    def _ancestors(self, job: Job) -> set[int]:
        key = id(job)
        if key not in self._after_cache:
            seen: set[int] = set()
            todo = list(self.before.get(key, ()))
            while todo:
                j = todo.pop()
                if id(j) in seen:
                    continue
                seen.add(id(j))
                todo.extend(self.before.get(id(j), ()))
            self._after_cache[key] = seen
        return self._after_cache[key]

    # -- payloads and specs
    def pickle_jobs(self) -> tuple[bytes, dict[int, PayloadRef]]:
        chunks: list[bytes] = []
        refs: dict[int, PayloadRef] = {}
        offset = 0
        with pickling_context(self):
            for job in self.jobs:
                if is_noop(job):
                    continue
                self.consumer, self.reads = job, []
                try:
                    data = with_reads(dumps(job), self.reads)
                except JobPromiseConstraintError:
                    raise
                except Exception as e:
                    raise JobPicklingError(f"cannot pickle the job {job}: {type(e).__name__}: {e}") from None
                refs[id(job)] = PayloadRef(self.prefix, offset, len(data))
                self.reads_of[id(job)] = sorted(set(self.reads))
                chunks.append(data)
                offset += len(data)
            self.consumer = None
        return b"".join(chunks), refs

    def pickle_return(self, value: Any) -> tuple[bytes, list[str]]:
        """The pickled return value and the producers whose promises it holds."""
        with pickling_context(self):
            self.consumer, self.reads, self._pickling_return = None, [], True
            try:
                return dumps(value), sorted(set(self.reads))
            except JobPromiseConstraintError:
                raise
            except Exception as e:
                raise JobPicklingError(
                    f"cannot pickle the return value of {self.running}: {type(e).__name__}: {e}"
                ) from None
            finally:
                self._pickling_return = False

    def spec_for(self, job: Job, ref: PayloadRef | None) -> NodeSpec:
        if isinstance(job, ServiceHostJob):
            kind = KIND_SERVICE
        elif ref is None:
            kind = KIND_NOOP
        else:
            kind = KIND_PYTHON
        for name, value in job._requirements.items():
            if isinstance(value, PromisedRequirement):
                raise JobException(
                    f"the job {job} has a promised requirement {name!r}; use Job.wrapFn or "
                    f"Job.wrapJobFn (or addChildFn ...) for promised requirements"
                )
        resources = Resources(
            float(job.cores), int(job.memory), int(job.disk), accelerators_key(job.accelerators), bool(job.preemptible)
        )
        return NodeSpec(
            id=job._node_id or "",
            kind=kind,
            name=job._jobName,
            display=job._displayName,
            resources=resources,
            payload=ref,
            checkpoint=job.checkpoint,
            children=[c._node_id or "" for c in job._children],
            followons=[f._node_id or "" for f in job._followOns],
            services=[(h._node_id or "", p._node_id if p is not None else None) for h, p in job._services],
            keep_return=id(job) in self.promised or job._rvRequested,
            unit=job._unitName or "",
            reads=self.reads_of.get(id(job), []),
        )


def compile_graph(
    start: Job, config: Config | None, running: Job | None = None, return_value: Any = None, keep_return: bool = False
) -> CompiledGraph:
    """Compile the new jobs reachable from start; start is the running job in a worker, the root in the leader.

    For a running job, its return value is pickled too when anything reads it
    (keep_return, rv() called on it, or a new job holding its promise).
    """
    jobs = _new_jobs(start)
    before = check_graph(running, jobs)
    comp = _Compiler(config, running, jobs, before)
    comp.assign_ids()
    pack, refs = comp.pickle_jobs()
    out = CompiledGraph(pack_name=comp.prefix if pack else "", pack=pack)
    if running is not None and (keep_return or running._rvRequested or id(running) in comp.promised):
        out.return_value, out.return_refs = comp.pickle_return(return_value)
    out.specs = [comp.spec_for(job, refs.get(id(job))) for job in jobs]
    if running is not None:
        out.children = [c._node_id or "" for c in running._children]
        out.followons = [f._node_id or "" for f in running._followOns]
        out.services = [(h._node_id or "", p._node_id if p is not None else None) for h, p in running._services]
    return out
