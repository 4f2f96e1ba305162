"""The monitor over a real leader, a fake batch system and a file or memory job store: what its status file
says while jobs run, after the workflow completes, fails or is stopped, and that it agrees with what a replay
of the journal says about the same moment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest

from tests.unit.runtime.fake_batch import FakeBatchSystem, Outcome
from tests.unit.runtime.leader_run import Run, spec
from toil.compiler.ir import KIND_SERVICE, RunRecord
from toil.exceptions import FailedJobsException, WorkflowInterrupted
from toil.runtime.batch.base import Completion
from toil.runtime.leader import KILL_FLAG, Leader
from toil.runtime.observe.snapshot import Snapshot
from toil.runtime.observe.status import read_workflow_status, replay
from toil.runtime.protocol import FailedRun, WorkerMessage, WorkerResult
from toil.runtime.scheduling import JobCounts

MAX_STEPS = 2000  # the leader spins while the fake holds jobs: a script that never ends fails, not hangs


# ---------------------------------------------------------------------- what the jobs do
def ran(m: WorkerMessage) -> Outcome:
    """The job ran; its stats line names it as a real worker's does (by its spec's name)."""
    a = m.attempt
    stats = [{"id": a.node_id, "name": m.spec.name, "ok": True}]
    return Outcome(0, WorkerResult(a.token, runs=[RunRecord(id=a.node_id, epoch=a.epoch).to_json()], stats=stats))


def raised(m: WorkerMessage, error: str, permanent: bool = False) -> Outcome:
    a = m.attempt
    stats = [{"id": a.node_id, "name": m.spec.name, "ok": False}]
    return Outcome(1, WorkerResult(a.token, failed=FailedRun(a, error, permanent), stats=stats))


def hold(m: WorkerMessage) -> Outcome:
    return Outcome(hold=True)


def by_node(**outcomes: Callable[[WorkerMessage], Outcome]) -> Callable[[WorkerMessage], Outcome]:
    return lambda m: outcomes.get(m.attempt.node_id, ran)(m)


@dataclass
class ScriptedBatch(FakeBatchSystem):
    """The fake, advancing a test's script by one step before each wait (the leader's loop), with some held
    jobs reported still queued (issued, not yet running)."""

    script: Iterator[None] | None = None
    not_started: set[str] = field(default_factory=set)
    steps: int = 0

    def wait(self, timeout: float) -> list[Completion]:
        self.steps += 1
        assert self.steps < MAX_STEPS, "the script never finished"
        if self.script is not None:
            next(self.script, None)
        return super().wait(timeout)

    def running_tokens(self) -> list[str]:
        return [t for t in self.held if t not in self.not_started]

    def queued_tokens(self) -> list[str]:
        return [t for t in self.held if t in self.not_started]

    def release(self, token: str, outcome: Callable[[WorkerMessage], Outcome] = ran) -> None:
        """A held job ends as ``outcome`` says."""
        out = outcome(WorkerMessage.from_json(self.held.pop(token).message))
        result = json.dumps(out.result.to_json()).encode() if out.result is not None else None
        self._done.append(Completion(token, out.exit_code, result=result))


class Scripted:
    """A Run whose leader's loop drives ``script(self)``, a generator that yields to let the leader go round."""

    def __init__(self, locator: str, specs, behaviour, **options: Any) -> None:
        self.run = Run(locator, specs, behaviour, workflowID="w", disableProgress=True, **options)
        self.batch = self.run.batch = ScriptedBatch(behaviour)
        self.leader: Leader = self.run.leader()
        self.seen: dict[str, Any] = {}

    def start(self, script: Callable[[], Iterator[None]]) -> None:
        self.batch.script = script()
        self.leader.run()

    def held_until(self, *tokens: str) -> Iterator[None]:
        while not set(tokens) <= set(self.batch.held):
            yield

    def status(self) -> dict[str, Any]:
        """The status file as it stands."""
        raw = self.run.job_store.read_status()
        assert raw is not None
        return json.loads(raw)

    def publish(self) -> dict[str, Any]:
        """The status file the monitor writes now (it writes one a second by itself)."""
        self.leader.monitor.tick(force=True)
        return self.status()

    def replayed(self) -> JobCounts:
        """The counts 'toil status' has for the same moment from the journal alone (no leader to ask)."""
        state = replay(self.run.reopen())
        assert state is not None
        return state.job_counts()

    def moment(self, key: str) -> None:
        """Record the status file and the journal's counts at this moment, under ``key``."""
        self.seen[key] = (self.publish(), self.replayed())


def as_replayed(live: JobCounts) -> JobCounts:
    """Live counts as a replay of the journal has them: it cannot know what was issued, so all of that is queued
    (the leader counts issued attempts that are not running as queued already)."""
    return {**live, "queued": live["queued"] + live["running"], "issued": 0, "running": 0}


def counts(queued=0, issued=0, running=0, finished=0, failed=0, waiting=0, services=0) -> JobCounts:
    return JobCounts(
        queued=queued,
        issued=issued,
        running=running,
        finished=finished,
        failed=failed,
        waiting=waiting,
        services=services,
    )


def named(issued=0, running=0, completed=0, failed=0) -> dict[str, int]:
    return {"issued": issued, "running": running, "completed": completed, "failed": failed}


def issued_job(node_id: str, name: str, running: bool) -> dict[str, Any]:
    return {
        "token": f"{node_id}.0",
        "id": node_id,
        "label": f"'{node_id}' {node_id}",
        "name": name,
        "running": running,
        "batch_id": None,
        # the shape it asked for (the test graph's default), as an autoscaler packs it
        "cores": 1.0,
        "memory": 2**20,
        "disk": 2**20,
        "accelerators": 0,
        "preemptible": False,
    }


# ---------------------------------------------------------------------- tests
def test_jobs_held_running_then_finished(store_locator):
    specs = [
        spec("root", children=["a", "b", "c"]),
        spec("a", name="work"),
        spec("b", name="work"),
        spec("c", name="work"),
    ]
    s = Scripted(store_locator, specs, by_node(a=hold, b=hold, c=hold))

    def script():
        s.batch.not_started.add("c.0")  # the batch system has not found room for c yet
        yield from s.held_until("a.0", "b.0", "c.0")
        s.moment("held")
        s.batch.release("a.0")
        yield  # the leader records it
        s.moment("one done")
        s.batch.not_started.clear()
        s.batch.release("b.0")
        s.batch.release("c.0")

    s.start(script)

    status, replayed = s.seen["held"]
    assert (status["state"], status["workflow_id"], status["batch_system"]) == ("running", "w", "fake")
    assert status["counts"] == counts(queued=1, issued=3, running=2, waiting=1)
    assert status["cores_in_use"] == 2.0
    assert status["by_name"] == {"root": named(completed=1), "work": named(issued=3, running=2)}
    assert sorted(status["issued_jobs"], key=lambda j: j["token"]) == [
        issued_job("a", "work", True),
        issued_job("b", "work", True),
        issued_job("c", "work", False),
    ]
    assert status["failed_jobs"] == []
    assert replayed == counts(queued=3, waiting=1) == as_replayed(status["counts"])

    status, replayed = s.seen["one done"]
    assert status["counts"] == counts(queued=1, issued=2, running=1, finished=1, waiting=1)
    assert status["by_name"]["work"] == named(issued=2, running=1, completed=1)
    assert sorted(j["id"] for j in status["issued_jobs"]) == ["b", "c"]
    assert replayed == counts(queued=2, finished=1, waiting=1) == as_replayed(status["counts"])

    final = s.status()
    assert final["state"] == "completed" and s.run.state.finished
    assert final["counts"] == counts(finished=4)
    assert final["by_name"] == {"root": named(completed=1), "work": named(completed=3)}
    assert (final["issued_jobs"], final["failed_jobs"], final["cores_in_use"]) == ([], [], 0.0)
    assert final["started"] <= final["time"]
    assert s.replayed() == final["counts"]


def test_a_failure_names_its_job_and_reason_and_retries_are_counted_by_name(store_locator):
    specs = [spec("root", children=["flaky", "bad"]), spec("flaky"), spec("bad", name="checker")]

    def flaky(m: WorkerMessage) -> Outcome:
        return raised(m, "OSError: try again") if m.attempt.epoch == 0 else ran(m)

    behaviour = by_node(flaky=flaky, bad=lambda m: raised(m, "ToilUserError: bad input", permanent=True))
    run = Run(store_locator, specs, behaviour, retries=1, workflowID="w", disableProgress=True)
    with pytest.raises(FailedJobsException, match="bad input"):
        run.leader().run()

    status = json.loads(run.job_store.read_status() or b"{}")
    assert status["state"] == "failed"
    assert status["failed_jobs"] == [{"id": "bad", "label": "'bad' bad", "why": "ToilUserError: bad input"}]
    assert status["counts"] == counts(finished=1, failed=1, waiting=1)
    assert status["by_name"] == {
        "root": named(completed=1),
        "flaky": named(completed=1, failed=1),
        "checker": named(failed=1),
    }
    # what 'toil status' reports from that file, the leader gone
    told = read_workflow_status(run.reopen())
    assert (told.state, told.leader_alive, told.counts) == ("failed", False, status["counts"])
    assert [f["why"] for f in told.failed_jobs] == ["ToilUserError: bad input"]


def test_a_failure_replays_as_it_was_published(store_locator):
    specs = [spec("root", children=["ok", "bad"]), spec("ok"), spec("bad")]
    behaviour = by_node(bad=lambda m: raised(m, "ToilUserError: bad input", permanent=True))
    run = Run(store_locator, specs, behaviour, workflowID="w", disableProgress=True)
    with pytest.raises(FailedJobsException):
        run.leader().run()
    published = json.loads(run.job_store.read_status() or b"{}")["counts"]
    assert published == counts(finished=1, failed=1, waiting=1)
    state = replay(run.reopen())
    assert state is not None and state.job_counts() == published and state.failed == {"bad": "'bad' bad"}
    # with the status file damaged, 'toil status' replays the journal and says the same
    run.job_store.write_status(b'{"state": "runn')
    told = read_workflow_status(run.reopen())
    assert (told.state, told.counts) == ("failed", published)
    assert told.failed_jobs == [{"id": "bad", "label": "'bad' bad", "why": ""}]  # the journal keeps no reasons


def test_a_retried_job_replays_as_it_ran(store_locator):
    def flaky(m: WorkerMessage) -> Outcome:
        return raised(m, "OSError: try again") if m.attempt.epoch == 0 else ran(m)

    run = Run(store_locator, [spec("root", children=["flaky"]), spec("flaky")], by_node(flaky=flaky), retries=1)
    run.leader().run()
    published = json.loads(run.job_store.read_status() or b"{}")
    assert (published["state"], published["counts"]) == ("completed", counts(finished=2))
    state = replay(run.reopen())
    assert state is not None and state.failed == {} and state.finished
    assert state.job_counts() == published["counts"]


def test_services_are_counted_alike_live_and_replayed(store_locator):
    specs = [
        spec("root", children=["a"], services=[("svc", None)]),
        spec("svc", kind=KIND_SERVICE),
        spec("a"),
    ]
    s = Scripted(store_locator, specs, by_node(svc=hold, a=hold))
    store = s.run.job_store

    def script():
        yield from s.held_until("svc.0")
        s.moment("service starting")
        store.set_flag("svc.started")  # as the service's worker does once it is up
        yield from s.held_until("a.0")
        s.moment("service up")
        s.batch.release("a.0")
        while not store.has_flag("svc.stop"):  # its owner is done: the leader asks the service to stop
            yield
        s.moment("service stopping")
        s.batch.release("svc.0")

    s.start(script)

    expected = {
        "service starting": counts(issued=1, running=1, waiting=2, services=1),
        "service up": counts(issued=2, running=2, waiting=1, services=1),
        "service stopping": counts(issued=1, running=1, finished=1, waiting=1, services=1),
    }
    for moment, live in expected.items():
        status, replayed = s.seen[moment]
        assert status["counts"] == live, moment
        assert replayed == as_replayed(live), moment
    assert [j["id"] for j in s.seen["service up"][0]["issued_jobs"]] == ["svc", "a"]
    final = s.status()
    assert final["state"] == "completed" and final["counts"] == counts(finished=3)
    assert s.replayed() == final["counts"]


@pytest.mark.parametrize(
    "not_started",
    [
        set(),
        {"b.0"},
        {"a.0", "b.0"},
    ],
    ids=["both running", "one running", "none running"],
)
def test_a_stopped_workflow_counts_what_it_had_issued_as_queued(store_locator, not_started):
    s = Scripted(store_locator, [spec("root", children=["a", "b"]), spec("a"), spec("b")], by_node(a=hold, b=hold))

    def script():
        s.batch.not_started.update(not_started)
        yield from s.held_until("a.0", "b.0")
        s.moment("held")
        s.run.job_store.set_flag(KILL_FLAG)  # 'toil kill'

    with pytest.raises(WorkflowInterrupted):
        s.start(script)

    running = 2 - len(not_started)
    status, replayed = s.seen["held"]
    assert status["counts"] == counts(queued=2 - running, issued=2, running=running, waiting=1)
    final = s.status()
    assert final["state"] == "stopped" and (final["issued_jobs"], final["cores_in_use"]) == ([], 0.0)
    assert final["counts"] == counts(queued=2, waiting=1) == replayed == s.replayed()


@dataclass
class Recorder:
    published: list[Snapshot] = field(default_factory=list)
    closed: list[Snapshot] = field(default_factory=list)

    def publish(self, snapshot: Snapshot) -> None:
        self.published.append(snapshot)

    def close(self, snapshot: Snapshot) -> None:
        self.closed.append(snapshot)


class Broken:
    def publish(self, snapshot: Snapshot) -> None:
        pass

    def close(self, snapshot: Snapshot) -> None:
        raise RuntimeError("a sink that fails")


def test_sinks_get_a_snapshot_at_most_once_a_second_and_the_last_word_whatever_a_sink_does(store_locator):
    s = Scripted(store_locator, [spec("root", children=["a"]), spec("a")], by_node(a=hold))
    recorder = Recorder()
    s.leader.monitor.sinks[:0] = [Broken(), recorder]  # before the status file: a failing sink stops nothing

    def script():
        yield from s.held_until("a.0")
        recorder.published.clear()
        s.leader.monitor.tick(force=True)
        s.leader.monitor.tick()  # too soon after the last: not published
        s.leader.monitor.tick()
        s.batch.release("a.0")

    s.start(script)
    [held] = recorder.published
    assert held.state == "running" and held.counts == counts(issued=1, running=1, waiting=1)
    [last] = recorder.closed
    assert last.state == "completed" and last.counts == counts(finished=2)
    assert s.status()["counts"] == last.counts and s.status()["state"] == "completed"  # the status file too
