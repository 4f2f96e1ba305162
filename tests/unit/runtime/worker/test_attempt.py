"""A worker runs one message with a registered node kind and leaves a typed result; the protocol round-trips."""

from __future__ import annotations

import json

import pytest

from toil.compiler.ir import NodeSpec, Resources, RunRecord
from toil.exceptions import JobStoreCorruptError, ToilUserError
from toil.runtime.config import Config
from toil.runtime.jobstores import open_job_store
from toil.runtime.kinds import register_kind, runner_for
from toil.runtime.protocol import (
    Attempt,
    ChainHint,
    FailedRun,
    ResultProgress,
    WorkerMessage,
    WorkerResult,
    gather_results,
)
from toil.runtime.worker.attempt import AppendLogSink, RunContext, RunOutcome, run_attempt

R = Resources(1.0, 1 << 20, 1 << 20)


def run_adds_a_child(ctx: RunContext) -> RunOutcome:
    assert ctx.payload == b""
    child = NodeSpec(id=f"{ctx.spec.id}-child", kind="test-ok", name="child", display="child", resources=R)
    return RunOutcome(RunRecord(id=ctx.spec.id, epoch=ctx.epoch, add=[child], children=[child.id]))


def run_user_error(ctx: RunContext) -> RunOutcome:
    raise ToilUserError("the input file x.txt does not exist")


def run_bug(ctx: RunContext) -> RunOutcome:
    raise KeyError("oops")


register_kind("test-ok", f"{__name__}:run_adds_a_child")
register_kind("test-user-error", f"{__name__}:run_user_error")
register_kind("test-bug", f"{__name__}:run_bug")


def attempt_of(tmp_path, kind: str, epoch: int = 2) -> tuple[int, WorkerResult]:
    js = open_job_store(f"file:{tmp_path / 'js'}")
    js.create({"workflow_id": "w", "config": {}})
    spec = NodeSpec(id="n1", kind=kind, name="n", display="n", resources=R)
    message = WorkerMessage(Attempt("n1", epoch), spec, R)
    code, data = run_attempt(js, Config(), message.to_json(), str(tmp_path / "wf"))
    result = WorkerResult.from_json(json.loads(data))
    assert json.loads(js.read_result("n1.%d" % epoch) or b"{}") == json.loads(data)  # left in the job store too
    return code, result


def test_a_run_leaves_its_record_and_stats(tmp_path):
    code, result = attempt_of(tmp_path, "test-ok")
    assert code == 0 and result.failed is None and result.token == "n1.2"
    assert [RunRecord.from_json(r).children for r in result.runs] == [["n1-child"]]
    assert [s["id"] for s in result.stats] == ["n1"] and result.stats[0]["ok"] is True


def test_a_users_mistake_is_a_permanent_failure_and_a_bug_is_retried(tmp_path):
    code, result = attempt_of(tmp_path / "a", "test-user-error")
    assert code == 1 and result.failed == FailedRun(
        Attempt("n1", 2), "ToilUserError: the input file x.txt does not exist", True
    )
    code, result = attempt_of(tmp_path / "b", "test-bug")
    assert code == 1 and result.failed is not None and not result.failed.permanent
    assert result.failed.error == "KeyError: 'oops'" and result.runs == []


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(ToilUserError, match="kind 'nope'.*python"):
        runner_for("nope")


def test_messages_and_results_round_trip_and_a_newer_version_is_refused():
    spec = NodeSpec(id="x", kind="python", name="x", display="x", resources=R)
    message = WorkerMessage(Attempt("x", 3), spec, R, ChainHint({"id": "y"}, 1), main="/tmp/s.py")
    assert WorkerMessage.from_json(json.loads(json.dumps(message.to_json()))) == message
    result = WorkerResult(
        "x.3",
        runs=[{"t": "ran", "id": "x", "e": 3}],
        messages=[(30, "hi")],
        failed=FailedRun(Attempt("y", 0), "E", False),
        running=Attempt("y", 0),
    )
    assert WorkerResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    with pytest.raises(JobStoreCorruptError, match="protocol version 99"):
        WorkerResult.from_json({**result.to_json(), "v": 99})
    assert Attempt.from_token("a.b.12") == Attempt("a.b", 12) and Attempt.from_token("nodigits.x") is None


def test_a_results_log_gives_back_a_chain_cut_short_and_whole_results(tmp_path):
    sink = AppendLogSink(str(tmp_path / "w.rlog"))
    part = WorkerResult("a.0", runs=[{"t": "ran", "id": "a", "e": 0}], running=Attempt("b", 0))
    sink.progress("a.0", part)
    whole = WorkerResult("c.1", runs=[{"t": "ran", "id": "c", "e": 1}])
    sink.finish("c.1", json.dumps(whole.to_json()).encode())
    from toil.runtime.jobstores.journal import decode_line

    lines = [decode_line(line) for line in (tmp_path / "w.rlog").read_bytes().splitlines(keepends=True)]
    found = gather_results([rec for rec in lines if rec is not None])
    assert found["a.0"].runs == part.runs and found["a.0"].running == Attempt("b", 0)
    assert found["c.1"] == whole
    assert ResultProgress.is_progress(ResultProgress("a.0", {}, None).to_json())
