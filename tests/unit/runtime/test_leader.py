"""The leader's loop against a fake batch system: what it issues, journals and concludes from each ending.

Every test runs over a file job store and over the in-memory one (the ``store_locator`` fixture)."""

from __future__ import annotations

import json

import pytest

from tests.unit.runtime.fake_batch import Outcome, fail, succeed
from tests.unit.runtime.leader_run import Run, spec
from toil.compiler.ir import RunRecord
from toil.exceptions import FailedJobsException
from toil.runtime.protocol import Attempt, WorkerMessage, WorkerResult


def test_a_graph_runs_in_order_and_every_run_is_journaled(store_locator):
    run = Run(store_locator, [spec("root", children=["a", "b"]), spec("a"), spec("b")], succeed)
    run.leader().run()
    assert run.state.finished
    assert run.issued()[0] == ("root", 0) and sorted(run.issued()[1:]) == [("a", 0), ("b", 0)]
    assert sorted(r["id"] for r in run.records() if r["t"] == "ran") == ["a", "b", "root"]


def test_a_failed_job_is_retried_with_its_next_epoch_then_succeeds(store_locator):
    tries: list[int] = []

    def flaky(m: WorkerMessage) -> Outcome:
        tries.append(m.attempt.epoch)
        return fail(m) if m.attempt.epoch == 0 else succeed(m)

    run = Run(store_locator, [spec("root")], flaky, retries=1)
    run.leader().run()
    assert tries == [0, 1] and run.state.finished
    fails = [r for r in run.records() if r["t"] == "fail"]
    assert fails == [{"t": "fail", "id": "root", "e": 0, "counts": True, "permanent": False}]


def test_a_permanent_failure_is_not_retried_and_fails_the_workflow_naming_the_cause(store_locator):
    run = Run(store_locator, [spec("root")], lambda m: fail(m, "ToilUserError: bad input", permanent=True), retries=3)
    with pytest.raises(FailedJobsException, match="bad input"):
        run.leader().run()
    assert run.issued() == [("root", 0)]


def test_tries_run_out(store_locator):
    run = Run(store_locator, [spec("root")], fail, retries=2)
    with pytest.raises(FailedJobsException, match="1 job\\(s\\) failed"):
        run.leader().run()
    assert run.issued() == [("root", 0), ("root", 1), ("root", 2)]


def test_a_job_lost_with_its_node_does_not_use_up_a_try(store_locator):
    run = Run(
        store_locator,
        [spec("root")],
        lambda m: Outcome(None, lost=True) if m.attempt.epoch < 3 else succeed(m),
        retries=0,
    )
    run.leader().run()
    assert run.state.finished and len(run.issued()) == 4


def test_an_out_of_memory_kill_doubles_the_memory_of_the_next_attempt_with_doubleMem(store_locator):
    run = Run(
        store_locator,
        [spec("root")],
        lambda m: Outcome(None, oom=True) if m.attempt.epoch == 0 else succeed(m),
        doubleMem=True,
    )
    run.leader().run()
    assert [m.alloc.memory for m in run.batch.issued] == [1 << 20, 2 << 20]


def test_a_job_too_big_for_the_batch_system_fails_without_being_issued(store_locator):
    run = Run(store_locator, [spec("root", memory=1 << 30)], succeed)
    run.batch.max_memory = 1 << 29
    with pytest.raises(FailedJobsException, match="asks for"):
        run.leader().run()
    assert run.issued() == []


def test_a_damaged_result_counts_as_a_died_process_and_is_retried(store_locator):
    def damaged_first(m: WorkerMessage) -> Outcome:
        return Outcome(0, WorkerResult("not-a-token")) if m.attempt.epoch == 0 else succeed(m)

    run = Run(store_locator, [spec("root")], damaged_first)
    original_issue = run.batch.issue

    def issue(job):
        original_issue(job)
        if job.token == "root.0":  # what a worker killed while writing leaves: half a JSON document
            run.batch._done[-1].result = b'{"token": "root.0", "ru'

    run.batch.issue = issue
    run.leader().run()
    assert run.issued() == [("root", 0), ("root", 1)] and run.state.finished


def test_a_chained_result_journals_every_run_and_the_successor_is_not_issued(store_locator):
    def chain(m: WorkerMessage) -> Outcome:
        out = succeed(m)
        assert out.result is not None
        out.result.runs.append(RunRecord(id="a", epoch=0).to_json())  # the worker ran 'a' in the same process
        return out

    run = Run(store_locator, [spec("root", children=["a"]), spec("a")], chain)
    run.leader().run()
    assert run.issued() == [("root", 0)]
    assert [m.next.spec["id"] if m.next else None for m in run.batch.issued] == ["a"]  # the chain hint
    assert [r["id"] for r in run.records() if r["t"] == "ran"] == ["root", "a"]


def test_a_dead_leaders_unrecorded_result_is_applied_before_anything_is_issued(store_locator):
    run = Run(store_locator, [spec("root", children=["a"]), spec("a")], succeed)
    left = WorkerResult(Attempt("root", 0).token, runs=[RunRecord(id="root", epoch=0).to_json()])
    run.job_store.write_result(left.token, json.dumps(left.to_json()).encode())
    run.leader().run()
    assert run.issued() == [("a", 0)]
    assert run.job_store.list_results() == []


def test_a_result_of_an_earlier_epoch_is_ignored_on_rescue(store_locator):
    run = Run(store_locator, [spec("root")], succeed)
    stale = WorkerResult("root.7", runs=[RunRecord(id="root", epoch=7).to_json()])
    run.job_store.write_result(stale.token, json.dumps(stale.to_json()).encode())
    run.leader().run()
    assert run.issued() == [("root", 0)]


def test_return_values_past_the_journals_budget_go_to_the_store_before_their_runs_are_journaled(
    store_locator, monkeypatch
):
    from toil.runtime import leader

    def returning(m: WorkerMessage) -> Outcome:
        out = succeed(m)
        assert out.result is not None
        out.result.runs = [RunRecord(id=m.spec.id, epoch=0, return_value=m.spec.id.encode() * 10).to_json()]
        return out

    monkeypatch.setattr(leader, "INLINE_RETURNS_BUDGET", 45)  # room for the root's value only
    run = Run(store_locator, [spec("root", children=["a"]), spec("a", reads=["root"])], returning)
    run.leader().run()
    ran = {r["id"]: r for r in run.records() if r["t"] == "ran"}
    assert "rv" in ran["root"] and "rv" not in ran["a"]
    assert run.job_store.read_return("a") == b"a" * 10
    with pytest.raises(KeyError):
        run.job_store.read_return("root")
    assert run.state.values_for(["a", "root"]) == {"root": b"root" * 10}
    # the journal's values go to the jobs that read them
    assert [m.values for m in run.batch.issued] == [{}, {"root": b"root" * 10}]


def test_a_slow_sync_overlaps_with_the_batch_system_and_nothing_is_applied_before_it_is_durable(store_locator):
    import threading
    import time

    from tests.unit.runtime.fake_batch import FakeBatchSystem

    class Trickle(FakeBatchSystem):
        """Jobs finish one at a time, 3 ms apart, as workers would."""

        last = 0.0

        def wait(self, timeout):
            if not self._done or time.monotonic() - self.last < 0.003:
                return []
            self.last = time.monotonic()
            first, self._done = self._done[:1], self._done[1:]
            return first

    children = [f"c{i}" for i in range(30)]
    run = Run(store_locator, [spec("root", children=children), *[spec(c) for c in children]], succeed)
    run.batch = Trickle(succeed)
    journal, state = run.journal, run.state
    durable, applied, during_sync = [journal.seq], [journal.seq], []
    syncing = threading.Event()
    real_sync, real_apply, real_wait = journal.sync, state.apply, run.batch.wait

    def slow_sync():
        syncing.set()
        time.sleep(0.02)  # an object store's round trip
        real_sync()
        durable[0] = journal.seq
        syncing.clear()

    def checked_apply(rec):
        applied[0] += 1
        assert applied[0] <= durable[0], "a record was applied before it was durable"
        real_apply(rec)

    def watched_wait(timeout):
        done = real_wait(timeout)
        if syncing.is_set():
            during_sync.extend(done)
        return done

    journal.sync, state.apply, run.batch.wait = slow_sync, checked_apply, watched_wait
    run.leader().run()
    assert state.finished and during_sync  # workers' results kept arriving while the journal was written
    assert sorted(r["id"] for r in run.records() if r["t"] == "ran") == sorted(["root", *children])
