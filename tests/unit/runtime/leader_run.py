"""One leader over a fresh job store (file or memory) and a fake batch system, for the leader's and the
monitor's unit tests."""

from __future__ import annotations

from tests.unit.runtime.fake_batch import Behaviour, FakeBatchSystem
from tests.unit.runtime.jobstores.memory_store import MemoryJobStore
from toil.compiler.ir import KIND_PYTHON, NodeSpec, Resources
from toil.runtime.config import Config
from toil.runtime.jobstores import open_job_store
from toil.runtime.jobstores.base import JobStore
from toil.runtime.leader import Leader
from toil.runtime.scheduling import WorkflowState

STORE_KINDS = ("file", "memory")


def spec(node_id: str, children=(), memory: int = 1 << 20, **fields) -> NodeSpec:
    fields.setdefault("name", node_id)
    return NodeSpec(
        id=node_id,
        kind=fields.pop("kind", KIND_PYTHON),
        display=node_id,
        resources=Resources(1.0, memory, 1 << 20),
        children=list(children),
        **fields,
    )


def open_store(locator: str) -> JobStore:
    """A new handle on the store ``locator`` names (memory: without registering the scheme globally)."""
    scheme, _, name = locator.partition(":")
    return MemoryJobStore(name) if scheme == "memory" else open_job_store(locator)


class Run:
    """One leader over a fresh job store at ``locator`` holding ``specs`` (the first is the root)."""

    def __init__(self, locator: str, specs: list[NodeSpec], behaviour: Behaviour, retries: int = 1, **options) -> None:
        self.config = Config()
        self.config.jobStore = locator
        self.config.retryCount = retries
        self.config.retry_backoff_seconds = 0.0
        for k, v in options.items():
            setattr(self.config, k, v)
        self.job_store = open_store(locator)
        self.job_store.create({"workflow_id": "w", "config": self.config.to_json()})
        self.journal = self.job_store.journal()
        self.journal.load()
        init = {"t": "init", "root": specs[0].id, "nodes": [s.to_json() for s in specs]}
        self.journal.append([init])
        self.journal.sync()
        self.state = WorkflowState(retries)
        self.state.apply(init)
        self.batch = FakeBatchSystem(behaviour)

    def leader(self) -> Leader:
        return Leader(self.job_store, self.config, self.state, self.batch, self.journal)

    def reopen(self) -> JobStore:
        """Another handle on the same store, as 'toil status' would open it."""
        return open_store(self.config.jobStore)

    def records(self) -> list[dict]:
        return self.reopen().journal().load()[1]

    def issued(self) -> list[tuple[str, int]]:
        return [(m.attempt.node_id, m.attempt.epoch) for m in self.batch.issued]
