"""The single_machine batch system running real tiny jobs through its fork server: results, reservations,
kills, limits, jobs that take their process down, and the machine it describes."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from toil.compiler.ir import NodeSpec, Resources, RunRecord
from toil.exceptions import InsufficientSystemResources
from toil.lib.host import cpu_count, physical_memory
from toil.runtime.batch.base import BatchContext, BatchJob, Completion, NodeInfo
from toil.runtime.batch.local.system import LocalBatchSystem
from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.kinds import register_kind
from toil.runtime.protocol import Attempt, WorkerMessage, WorkerResult
from toil.runtime.worker.attempt import RunContext, RunOutcome

MiB = 1 << 20
ONE_CORE = Resources(1.0, MiB, MiB)
PATIENCE = 5.0  # seconds a job or a test waits for something that takes milliseconds


# ---------------------------------------------------------------------- the jobs (they run in worker processes)
def _mark(directory: str, name: str) -> None:
    """Write the time now to DIRECTORY/NAME, atomically (the test process polls for it)."""
    tmp = os.path.join(directory, f".{name}.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(repr(time.time()))
    os.replace(tmp, os.path.join(directory, name))


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def run_timed(ctx: RunContext) -> RunOutcome:
    """Mark its start, wait for ``wait_for`` if given, mark its end; its record carries ``echo``."""
    x = ctx.spec.extra
    _mark(x["dir"], f"{ctx.spec.id}.start")
    if x.get("wait_for"):
        _wait_for(x["wait_for"])
    _mark(x["dir"], f"{ctx.spec.id}.end")
    return RunOutcome(RunRecord(id=ctx.spec.id, epoch=ctx.epoch, cleanup_files=[x.get("echo", "")]))


def run_raises(ctx: RunContext) -> RunOutcome:
    raise ValueError(f"no good: {ctx.spec.extra['echo']}")


def run_hangs(ctx: RunContext) -> RunOutcome:
    _mark(ctx.spec.extra["dir"], f"{ctx.spec.id}.start")
    time.sleep(60)
    raise AssertionError("never killed")


def run_exits(ctx: RunContext) -> RunOutcome:
    print("leaving without a word", flush=True)
    os._exit(7)


register_kind("test-local-timed", f"{__name__}:run_timed")
register_kind("test-local-raises", f"{__name__}:run_raises")
register_kind("test-local-hangs", f"{__name__}:run_hangs")
register_kind("test-local-exits", f"{__name__}:run_exits")


# ---------------------------------------------------------------------- helpers
def make_batch(tmp_path: Path, cores: float = 1, memory: int = 1 << 30, **options: object) -> LocalBatchSystem:
    config = Config()
    config.workflowID = "local-test"
    config.maxCores, config.maxMemory, config.maxDisk = cores, memory, 1 << 30
    for k, v in options.items():
        setattr(config, k, v)
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json()})
    return LocalBatchSystem(BatchContext(config, js, str(tmp_path / "work")))


@pytest.fixture
def batch_factory(tmp_path: Path) -> Iterator[Callable[..., LocalBatchSystem]]:
    """Build (and start) batch systems over a file job store in tmp_path; every one is shut down after."""
    made: list[LocalBatchSystem] = []

    def build(cores: float = 1, memory: int = 1 << 30, start: bool = True, **options: object) -> LocalBatchSystem:
        b = make_batch(tmp_path / f"b{len(made)}", cores, memory, **options)
        made.append(b)
        if start:
            b.start()
        return b

    yield build
    for b in made:
        b.shutdown()


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


def job(node_id: str, kind: str, resources: Resources = ONE_CORE, **extra: object) -> BatchJob:
    spec = NodeSpec(id=node_id, kind=kind, name=f"{kind}-name", display=node_id, resources=resources, extra=extra)
    message = WorkerMessage(Attempt(node_id, 0), spec, resources)
    return BatchJob(f"{node_id}.0", node_id, spec.label(), resources, message.to_json(), name=spec.name)


def pump(b: LocalBatchSystem, until: Callable[[list[Completion]], bool]) -> list[Completion]:
    """Let the batch system work (it only does inside wait) until ``until`` holds for what completed."""
    done: list[Completion] = []
    deadline = time.monotonic() + PATIENCE
    while not until(done):
        assert time.monotonic() < deadline, f"timed out; completed so far: {done}"
        done.extend(b.wait(0.02))
    return done


def count(n: int) -> Callable[[list[Completion]], bool]:
    return lambda done: len(done) >= n


def started(marks: Path, node_id: str) -> Callable[[list[Completion]], bool]:
    return lambda done: (marks / f"{node_id}.start").exists()


def stamp(marks: Path, name: str) -> float:
    return float((marks / name).read_text())


def result_of(c: Completion) -> WorkerResult:
    assert c.result is not None, c
    return WorkerResult.from_json(json.loads(c.result))


# ---------------------------------------------------------------------- tests
def test_results_come_back_with_their_completions(batch_factory, marks):
    b = batch_factory()
    b.issue(job("hello", "test-local-timed", dir=str(marks), echo="hello, world"))
    b.issue(job("oops", "test-local-raises", echo="x.txt"))
    done = {c.token: c for c in pump(b, count(2))}
    assert sorted(done) == ["hello.0", "oops.0"]

    ok = done["hello.0"]
    assert (ok.exit_code, ok.ok, ok.killed, ok.signal, ok.log) == (0, True, False, None, None)
    result = result_of(ok)
    assert result.token == "hello.0" and result.failed is None and result.running is None
    assert [RunRecord.from_json(r) for r in result.runs] == [
        RunRecord(id="hello", epoch=0, cleanup_files=["hello, world"])
    ]
    [stats] = result.stats
    assert (stats["id"], stats["name"], stats["ok"]) == ("hello", "test-local-timed-name", True)
    assert stats["pid"] != os.getpid()  # it ran in a worker process, not here

    bad = done["oops.0"]
    assert (bad.exit_code, bad.ok, bad.killed) == (1, False, False)
    failed = result_of(bad).failed
    assert failed is not None and failed.attempt == Attempt("oops", 0)
    assert failed.error == "ValueError: no good: x.txt" and not failed.permanent
    assert bad.log is not None and b"ValueError: no good: x.txt" in bad.log  # a failed job's output is kept
    assert b.issued_tokens() == [] and b.running_tokens() == []


@pytest.mark.parametrize(
    "limits, resources",
    [((1, 1 << 30), ONE_CORE), ((2, 3 * MiB), Resources(1.0, 2 * MiB, MiB))],
    ids=["cores", "memory"],
)
def test_two_jobs_that_do_not_fit_together_run_one_after_the_other(batch_factory, marks, limits, resources):
    if cpu_count() < limits[0]:
        pytest.skip(f"needs {limits[0]} cores")
    b = batch_factory(*limits)
    release = marks / "release"
    b.issue(job("first", "test-local-timed", resources, dir=str(marks), wait_for=str(release)))
    b.issue(job("second", "test-local-timed", resources, dir=str(marks)))
    assert b.queued_tokens() == ["second.0"] and b.running_tokens() == ["first.0"]
    pump(b, started(marks, "first"))
    done = b.wait(0.2)  # time enough for the second job to start, were it let
    assert done == [] and not (marks / "second.start").exists()
    assert b.queued_tokens() == ["second.0"] and b.running_tokens() == ["first.0"]
    [node] = b.nodes()
    assert (node.used_cores, node.used_memory, node.running_jobs) == (1.0, resources.memory, 1)

    release.touch()
    done = pump(b, count(2))
    assert [c.token for c in done] == ["first.0", "second.0"] and all(c.ok for c in done)
    assert stamp(marks, "second.start") >= stamp(marks, "first.end")
    [node] = b.nodes()
    assert (node.used_cores, node.used_memory, node.running_jobs) == (0.0, 0, 0)


def test_two_jobs_that_fit_together_do_run_together(batch_factory, marks):
    """The control for the test above: the first job ends only once the second has started beside it."""
    if cpu_count() < 2:
        pytest.skip("needs 2 cores")
    b = batch_factory(cores=2)
    b.issue(job("first", "test-local-timed", dir=str(marks), wait_for=str(marks / "second.start")))
    b.issue(job("second", "test-local-timed", dir=str(marks)))
    assert b.queued_tokens() == [] and sorted(b.running_tokens()) == ["first.0", "second.0"]
    done = pump(b, count(2))
    assert sorted(c.token for c in done) == ["first.0", "second.0"] and all(c.ok for c in done)
    assert stamp(marks, "second.start") < stamp(marks, "first.end")


def test_killing_a_running_job_reports_it_killed(batch_factory, marks):
    b = batch_factory()
    b.issue(job("sleeper", "test-local-hangs", dir=str(marks)))
    pump(b, started(marks, "sleeper"))
    [pid] = b.batch_ids().values()
    assert int(pid) != os.getpid()
    b.kill(["sleeper.0"])
    [c] = pump(b, count(1))
    assert (c.token, c.killed, c.exit_code, c.signal, c.result) == ("sleeper.0", True, None, 9, None)
    assert c.reason == "killed on request"
    assert b.running_tokens() == [] and b.nodes()[0].used_cores == 0.0
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)  # the worker is gone, not just forgotten


def test_killing_a_queued_job_reports_it_killed_without_running_it(batch_factory, marks):
    b = batch_factory()
    b.issue(job("sleeper", "test-local-hangs", dir=str(marks)))
    b.issue(job("waiting", "test-local-timed", dir=str(marks)))
    b.kill(["waiting.0"])
    [c] = pump(b, count(1))
    assert (c.token, c.killed, c.exit_code, c.reason) == ("waiting.0", True, None, "killed before it started")
    assert b.queued_tokens() == [] and b.running_tokens() == ["sleeper.0"]
    assert not (marks / "waiting.start").exists()


def test_a_job_bigger_than_the_machine_is_refused(batch_factory):
    b = batch_factory(cores=1, memory=64 * MiB, start=False)
    b.check_resources(Resources(1.0, 64 * MiB, MiB), "fits")  # exactly the limits: no complaint
    with pytest.raises(InsufficientSystemResources, match=r"job big requests 2 cores \(at most 1\):"):
        b.check_resources(Resources(2.0, MiB, MiB), "big")
    with pytest.raises(InsufficientSystemResources, match=r"job fat requests 65\.0 ?Mi\w* memory \(at most 64\.0 ?Mi"):
        b.check_resources(Resources(1.0, 65 * MiB, MiB), "fat")
    with pytest.raises(InsufficientSystemResources, match=r"job huge requests .* disk \(at most"):
        b.check_resources(Resources(1.0, MiB, 2 << 30), "huge")


def test_a_job_that_exits_its_process_fails_without_a_result(batch_factory):
    b = batch_factory()
    b.issue(job("quitter", "test-local-exits"))
    [c] = pump(b, count(1))
    assert (c.token, c.exit_code, c.ok, c.killed, c.signal, c.result) == ("quitter.0", 7, False, False, None, None)
    assert c.reason == "its process exited with code 7 before the job finished"
    assert b.read_log(c) == b"leaving without a word\n"
    assert b.running_tokens() == [] and b.nodes()[0].running_jobs == 0


def test_nodes_describe_this_machine(batch_factory, marks):
    b = batch_factory(cores=1, memory=256 * MiB)
    [idle] = b.nodes()
    # what is in use of this machine, measured (for the dashboard), beside what the jobs reserve
    assert idle.cpu_busy is not None and idle.cpu_busy >= 0 and (idle.memory_busy or 0) > 0
    assert dataclasses.replace(idle, cpu_busy=None, memory_busy=None) == NodeInfo(
        socket.gethostname(),
        "127.0.0.1",
        min(1.0, cpu_count()),
        min(256 * MiB, physical_memory()),
        b.max_disk,
        used_cores=0.0,
        used_memory=0,
        running_jobs=0,
    )
    assert 0 < b.max_disk <= 1 << 30 and not idle.busy
    b.issue(job("sleeper", "test-local-hangs", Resources(0.5, 100 * MiB, MiB), dir=str(marks)))
    pump(b, started(marks, "sleeper"))
    [busy] = b.nodes()
    assert (busy.used_cores, busy.used_memory, busy.running_jobs, busy.busy) == (0.5, 100 * MiB, 1, True)
