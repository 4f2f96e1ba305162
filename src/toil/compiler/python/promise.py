"""Promises: a job's return value, referenced before the job has run.

``job.rv(*path)`` makes a ``Promise``. When a job holding promises is
compiled, each promise pickles as a reference ``(producer node id, path)``
and the producer is marked to keep its return value. When a worker loads the
consumer, each reference is resolved by reading the producer's stored return
value from the job store and indexing it by ``path``.
"""

from __future__ import annotations

import json
import pickle
import threading
from typing import TYPE_CHECKING, Any, Callable, Protocol

from toil.compiler.ir import RESOURCE_NAMES
from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.compiler.python.job import Job


class JobPromiseConstraintError(ToilUserError):
    """A promise is passed to a job that may run before the promising job."""

    def __init__(self, promising: Job, recipient: Job | None = None, detail: str = "") -> None:
        self.promisingJob, self.recipientJob = promising, recipient
        if recipient is None:
            msg = f"job {promising} cannot promise its return value to a job that is not its successor"
        else:
            msg = (
                f"job {recipient} is given a promise of the return value of job {promising}, which may not "
                f"have run before it; make it a successor (child or follow-on) of {promising}"
            )
        super().__init__(msg + (f" ({detail})" if detail else ""))


class Promise:
    """The return value (or a part of it) of a job that has not run yet."""

    def __init__(self, job: Job, path: tuple[Any, ...]) -> None:
        self.job = job
        self.path = tuple(path)

    def __reduce__(self) -> tuple[Callable[[str, tuple[Any, ...]], Any], tuple[str, tuple[Any, ...]]]:
        ctx = _pickling.context
        if ctx is None:
            raise JobPromiseConstraintError(self.job, detail="a promise can only be passed inside a job graph")
        producer_id = ctx.reference(self)
        return _resolve_promise, (producer_id, self.path)

    def __repr__(self) -> str:
        return f"Promise({self.job}, path={self.path!r})"


class PromiseContext(Protocol):
    """What compiling provides while it pickles jobs: a node id for each promise's producer."""

    def reference(self, promise: Promise) -> str: ...


class _Pickling(threading.local):
    context: PromiseContext | None = None


_pickling = _Pickling()


class pickling_context:
    """Make promises pickle as references of the given compile context."""

    def __init__(self, ctx: PromiseContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> PromiseContext:
        self.saved, _pickling.context = _pickling.context, self.ctx
        return self.ctx

    def __exit__(self, *exc: object) -> None:
        _pickling.context = self.saved


class ReturnValueReader(Protocol):
    def read_return(self, node_id: str) -> bytes: ...


# A job's payload may begin with the producers whose values its promises read, so a worker can fetch them all
# at once (in parallel from an object store) before unpickling: MAGIC, a 4-byte length, their ids as JSON.
_READS_MAGIC = b"TPR1"


def with_reads(payload: bytes, producers: list[str]) -> bytes:
    """The payload, headed by the ids of the producers its promises read (unchanged if none)."""
    if not producers:
        return payload
    ids = json.dumps(sorted(set(producers))).encode()
    return _READS_MAGIC + len(ids).to_bytes(4, "big") + ids + payload


def split_reads(payload: bytes) -> tuple[list[str], bytes]:
    """(the producers a payload's promises read, the pickle)."""
    if not payload.startswith(_READS_MAGIC):
        return [], payload
    size = int.from_bytes(payload[4:8], "big")
    return list(json.loads(payload[8 : 8 + size])), payload[8 + size :]


class Prefetched:
    """A return value reader that holds values fetched ahead, and asks the job store for the others.

    ``inline``: values that travelled in the journal instead of as objects of the store (the leader hands them
    to the worker with the job); they are kept, since the store has no copy to read them from again.
    """

    def __init__(
        self, store: "ReturnValueReader", values: dict[str, bytes], inline: dict[str, bytes] | None = None
    ) -> None:
        self.store, self.values, self.inline = store, values, inline or {}

    def read_return(self, node_id: str) -> bytes:
        value = self.values.pop(node_id, None)  # read once: a chain of promises reads on from the store
        if value is None:
            value = self.inline.get(node_id)
        return value if value is not None else self.store.read_return(node_id)


class _Resolving(threading.local):
    reader: ReturnValueReader | None = None
    cache: dict[str, Any] | None = None


_resolving = _Resolving()


class resolving_promises:
    """While loading a job in a worker, resolve promise references from this job store."""

    def __init__(self, reader: ReturnValueReader) -> None:
        self.reader = reader

    def __enter__(self) -> None:
        self.saved = (_resolving.reader, _resolving.cache)
        _resolving.reader, _resolving.cache = self.reader, {}

    def __exit__(self, *exc: object) -> None:
        _resolving.reader, _resolving.cache = self.saved


class PromiseNotReadyError(ToilUserError):
    """A promise was read before its job had finished."""


def _resolve_promise(producer_id: str, path: tuple[Any, ...]) -> Any:
    reader, cache = _resolving.reader, _resolving.cache
    if reader is None or cache is None:
        raise PromiseNotReadyError(
            f"the promised return value of job {producer_id} can only be read by a job of the same workflow"
        )
    if producer_id not in cache:
        cache[producer_id] = load_return(reader, producer_id)
    value = cache[producer_id]
    for index in path:
        value = value[index]
    return value


class _PromiseRef:
    """A promise reference seen while peeking at a stored value, not yet resolved."""

    def __init__(self, producer_id: str, path: tuple[Any, ...]) -> None:
        self.producer_id, self.path = producer_id, tuple(path)


class _PeekingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_resolve_promise":
            return _PromiseRef
        return super().find_class(module, name)


def load_return(reader: ReturnValueReader, producer_id: str) -> Any:
    """A node's return value with every promise in it resolved.

    A job that returns another job's promise (common in recursive
    workflows) makes a chain; the chain is followed in a loop, not by
    recursion, so it can be as long as the workflow is deep.
    """
    import io

    paths: list[tuple[Any, ...]] = []
    current = producer_id
    seen: set[str] = set()
    while True:
        try:
            raw = reader.read_return(current)
        except KeyError:
            raise PromiseNotReadyError(
                f"a job was given the promised return value of job {current}, which had not finished when "
                f"the job ran; make the job a successor of {current} (a child or follow-on)"
            ) from None
        if b"_resolve_promise" in raw and current not in seen:
            top = _PeekingUnpickler(io.BytesIO(raw)).load()
            if isinstance(top, _PromiseRef):
                seen.add(current)
                paths.append(top.path)
                current = top.producer_id
                continue
        value = pickle.loads(raw)  # promises nested inside are shallow: resolved as they load
        break
    for path in reversed(paths):
        for index in path:
            value = value[index]
    return value


class PromisedRequirementError(ToilUserError, ValueError):
    """A PromisedRequirement built with the wrong arguments."""


class PromisedRequirement:
    """A resource requirement computed from promised values when they are known.

    ``PromisedRequirement(A.rv())`` takes A's return value as the requirement;
    ``PromisedRequirement(lambda x: 2 * x, A.rv())`` computes it.
    """

    def __init__(self, valueOrCallable: Any, *args: Any) -> None:
        import cloudpickle

        if callable(valueOrCallable):
            if not args:
                raise PromisedRequirementError("a PromisedRequirement function needs at least one argument (a promise)")
            func = valueOrCallable
        else:
            if args:
                raise PromisedRequirementError("give a function to combine several promises into one requirement")
            func = _identity
            args = (valueOrCallable,)
        self._func: bytes = cloudpickle.dumps(func)  # cloudpickle has no type information
        self._args = list(args)

    def getValue(self) -> Any:
        import cloudpickle

        return cloudpickle.loads(self._func)(*self._args)

    @staticmethod
    def convertPromises(kwargs: dict[str, Any]) -> bool:
        """True if a requirement keyword holds a promise; bare promises become PromisedRequirements."""
        found = False
        for name in RESOURCE_NAMES:
            value = kwargs.get(name)
            if isinstance(value, Promise):
                kwargs[name] = PromisedRequirement(value)
                found = True
            elif isinstance(value, PromisedRequirement):
                found = True
        return found


def _identity(x: Any) -> Any:
    return x
