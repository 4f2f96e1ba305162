"""A batch system that runs nothing: each issued job ends as its test's ``behaviour`` says, in this process.

The leader's unit tests drive it: a behaviour maps an issued job (its
WorkerMessage) to what happened, a Completion and, optionally, the
WorkerResult its worker would have left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from toil.compiler.ir import Resources, RunRecord
from toil.exceptions import InsufficientSystemResources
from toil.runtime.batch.base import BatchJob, BatchSystem, Completion
from toil.runtime.protocol import FailedRun, WorkerMessage, WorkerResult


@dataclass
class Outcome:
    """How one job ends: its exit, flags the batch system sets, and the worker's result (None: it left none)."""

    exit_code: int | None = 0
    result: WorkerResult | None = None
    lost: bool = False
    oom: bool = False
    killed: bool = False
    hold: bool = False  # stays running until killed


Behaviour = Callable[[WorkerMessage], Outcome]


def succeed(message: WorkerMessage, record: RunRecord | None = None) -> Outcome:
    """The job ran; its record adds nothing unless given."""
    a = message.attempt
    run = record or RunRecord(id=a.node_id, epoch=a.epoch)
    return Outcome(
        0, WorkerResult(a.token, runs=[run.to_json()], stats=[{"id": a.node_id, "name": a.node_id, "ok": True}])
    )


def fail(message: WorkerMessage, error: str = "ValueError: boom", permanent: bool = False) -> Outcome:
    """The job raised: the worker reports it."""
    a = message.attempt
    return Outcome(1, WorkerResult(a.token, failed=FailedRun(a, error, permanent)))


@dataclass
class FakeBatchSystem(BatchSystem):
    behaviour: Behaviour = succeed
    max_memory: int = 1 << 40
    name = "fake"
    issued: list[WorkerMessage] = field(default_factory=list)
    held: dict[str, BatchJob] = field(default_factory=dict)
    _done: list[Completion] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)

    def start(self) -> None:
        pass

    def check_resources(self, resources: Resources, label: str) -> None:
        if resources.memory > self.max_memory:
            raise InsufficientSystemResources(f"{label} asks for {resources.memory} bytes of memory")

    def issue(self, job: BatchJob) -> None:
        message = WorkerMessage.from_json(job.message)
        self.issued.append(message)
        outcome = self.behaviour(message)
        if outcome.hold:
            self.held[job.token] = job
            return
        result = json.dumps(outcome.result.to_json()).encode() if outcome.result is not None else None
        self._done.append(
            Completion(
                job.token,
                outcome.exit_code,
                lost=outcome.lost,
                oom=outcome.oom,
                killed=outcome.killed,
                reason="the fake said so" if outcome.exit_code else "",
                result=result,
            )
        )

    def wait(self, timeout: float) -> list[Completion]:
        done, self._done = self._done, []
        return done

    def kill(self, tokens: list[str]) -> None:
        for token in tokens:
            if self.held.pop(token, None) is not None:
                self.killed.append(token)
                self._done.append(Completion(token, None, killed=True, reason="killed"))

    def shutdown(self) -> None:
        self.kill(list(self.held))

    def issued_tokens(self) -> list[str]:
        return list(self.held)
