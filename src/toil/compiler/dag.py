"""Build a sub-DAG of IR nodes from data dependencies (for the document languages).

A document's steps depend on the values of other steps. In the IR a consumer
becomes a follow-on of every producer it reads from, so it waits for the
producer's whole subtree (a producer may expand into a scatter or a
subworkflow at run time). Steps that read from nobody in the batch become
children of whoever adds the batch: the leader's root, or the running node.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from toil.compiler.ir import KIND_NOOP, NodeSpec, Resources, RunRecord


def new_node_id(hint: str = "") -> str:
    """A node id unique across processes and runs (forked workers share module state, so no counters)."""
    return f"{_safe(hint)}-{uuid.uuid4().hex[:16]}" if hint else uuid.uuid4().hex[:16]


def _safe(hint: str) -> str:
    """Ids name files in the job store: keep a short, file-name-safe part of the hint."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in hint[-32:])


class SubDag:
    """Nodes added together, with their data dependencies inside the batch."""

    def __init__(self) -> None:
        self.specs: dict[str, NodeSpec] = {}
        self._deps: dict[str, list[str]] = {}

    def add(self, spec: NodeSpec, deps: Iterable[str] = ()) -> str:
        """Add a node that reads the return values of ``deps`` (ids outside the batch are ignored)."""
        self.specs[spec.id] = spec
        self._deps[spec.id] = list(dict.fromkeys(deps))
        return spec.id

    def roots(self) -> list[str]:
        """Link dependencies as follow-on edges; return the nodes no node of the batch precedes."""
        roots = []
        for node_id, deps in self._deps.items():
            inside = [d for d in deps if d in self.specs]
            for d in inside:
                if node_id not in self.specs[d].followons:
                    self.specs[d].followons.append(node_id)
            if not inside:
                roots.append(node_id)
        return roots

    def as_run(self, node_id: str, epoch: int) -> RunRecord:
        """The record of a running node that added this batch below itself."""
        roots = self.roots()
        return RunRecord(id=node_id, epoch=epoch, add=list(self.specs.values()), children=roots)

    def as_graph(self, root_name: str) -> tuple[list[NodeSpec], str]:
        """The whole batch under a no-op root, for a workflow's start: (specs, root id)."""
        roots = self.roots()
        root = NodeSpec(
            id=new_node_id("root"),
            kind=KIND_NOOP,
            name=root_name,
            display=root_name,
            resources=Resources(0.0, 0, 0),
            children=roots,
        )
        return [root, *self.specs.values()], root.id


def json_node(
    kind: str,
    name: str,
    display: str,
    resources: Resources,
    extra: dict[str, Any],
    retries: int | None = None,
    hint: str = "",
) -> NodeSpec:
    """A node of a JSON kind: its payload is ``extra``, its return value JSON read by consumers."""
    return NodeSpec(
        id=new_node_id(hint),
        kind=kind,
        name=name,
        display=display,
        resources=resources,
        retries=retries,
        keep_return=True,
        extra=extra,
    )
