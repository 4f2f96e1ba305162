"""JSON values that flow between document-language nodes (CWL, WDL).

A node of a JSON kind stores its return value as JSON. A value may hold
references to other nodes' return values: ``{"$ref": [node_id, key]}`` stands
for ``return_of(node_id)[key]`` (the whole return value when key is None).
References are resolved when a consumer reads them, recursively, so a node
that expanded into a sub-DAG (a scatter, a subworkflow) can return references
to the nodes it added instead of waiting for them. The IR guarantees those
nodes finished first: consumers are follow-ons of the producer.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, Protocol

REF = "$ref"


def ref(node_id: str, key: str | None = None) -> dict[str, Any]:
    """A reference to the node's return value, or to one key of it."""
    return {REF: [node_id, key]}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and REF in value


def iter_refs(value: Any) -> Iterator[str]:
    """The ids of the nodes a value refers to."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if is_ref(v):
                yield v[REF][0]
            else:
                stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class ReturnStore(Protocol):
    """Where nodes' return values are kept (a job store)."""

    def read_return(self, node_id: str) -> bytes: ...


class ReturnReader:
    """Reads and resolves stored JSON return values, caching each node's."""

    def __init__(self, read: Callable[[str], bytes]) -> None:
        self._read = read
        self._cache: dict[str, Any] = {}

    @classmethod
    def of(cls, job_store: ReturnStore) -> "ReturnReader":
        return cls(job_store.read_return)

    def return_of(self, node_id: str) -> Any:
        if node_id not in self._cache:
            self._cache[node_id] = self.resolve(json.loads(self._read(node_id)))
        return self._cache[node_id]

    def resolve(self, value: Any) -> Any:
        """The value with every reference replaced by what it refers to."""
        if isinstance(value, dict):
            if is_ref(value):
                node_id, key = value[REF]
                whole = self.return_of(node_id)
                if key is None:
                    return whole
                if not isinstance(whole, dict):
                    raise KeyError(f"node {node_id} returned {type(whole).__name__}, not an object with {key!r}")
                return whole.get(key)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value
