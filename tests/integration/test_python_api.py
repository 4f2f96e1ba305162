"""Toil's Python API end to end: real workflows, real worker processes, a real file job store."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from tests.conftest import toil_options
from toil.common import Toil
from toil.exceptions import FailedJobsException
from toil.fileStores import FileID
from toil.job import Job, PromisedRequirement
from toil.realtimeLogger import RealtimeLogger

pytestmark = pytest.mark.integration


# -- job functions (module level, so workers can import them) ----------------------------------------------------
def square(x):
    return x * x


def add_all(values):
    return sum(values)


def fan_out(job, n):
    return job.addFollowOnFn(add_all, [job.addChildFn(square, i).rv() for i in range(n)]).rv()


def structured(job):
    return [1, {"a": [10, 20, 30]}, (7, 8)]


def consume_paths(job):
    s = job.addChildJobFn(structured)
    return job.addFollowOnFn(tuple, [s.rv(0), s.rv(1, "a", 2), s.rv(1, "a", slice(0, 2)), s.rv(2, 1)]).rv()


def tree(job, depth):
    if depth == 0:
        return 1
    left = job.addChildJobFn(tree, depth - 1).rv()
    right = job.addChildJobFn(tree, depth - 1).rv()
    return job.addFollowOnFn(add_all, [left, right]).rv()


def log_event(path, name):
    with open(path, "a") as f:
        f.write(f"{name} {time.time():.6f} {os.getpid()}\n")


def ordered(job, path):
    log_event(path, "root")
    a = job.addChildJobFn(ordered_child, path, "a")
    job.addChildJobFn(ordered_child, path, "b")
    job.addFollowOnFn(log_event, path, "follow")
    a.addFollowOnFn(log_event, path, "a-follow")


def ordered_child(job, path, name):
    log_event(path, name)
    job.addChildFn(log_event, path, name + "-child")


class Greeter(Job):
    def __init__(self, name):
        Job.__init__(self, memory="50M", cores=1, disk="10M", displayName=f"greet-{name}")
        self.name = name

    def run(self, fileStore):
        fileStore.log_to_leader(f"greeting {self.name}")
        self.log(f"cores={self.cores} memory={self.memory}")
        return f"hello {self.name}"


def files_job(job, imported):
    fs = job.fileStore
    assert isinstance(imported, FileID) and imported.size == 6
    text = open(fs.readGlobalFile(imported)).read()
    local = fs.getLocalTempFile()
    with open(local, "w") as f:
        f.write(text.upper())
    written = fs.writeGlobalFile(local)
    assert written.size == 6 and fs.getGlobalFileSize(written) == 6
    with fs.writeGlobalFileStream() as (stream, streamed):
        stream.write(b"streamed!")
    assert streamed.size == 9
    copy = fs.readGlobalFile(written, userPath=os.path.join(fs.getLocalTempDir(), "mine.txt"), mutable=True)
    with open(copy, "a") as f:
        f.write("changed")  # a mutable copy must not touch the stored file
    linked = fs.readGlobalFile(written, symlink=True)
    assert open(linked).read() == "HELLO\n"
    fs.deleteLocalFile(written)
    assert not os.path.exists(copy) and not os.path.exists(local)  # local copies, and the file it came from
    other = fs.getLocalTempFile()
    open(other, "w").write("bye")
    doomed = fs.writeGlobalFile(other)
    fs.deleteGlobalFile(doomed)
    return job.addChildJobFn(read_files, written, streamed, doomed).rv()


def read_files(job, written, streamed, doomed):
    with job.fileStore.readGlobalFileStream(streamed) as s:
        streamed_text = s.read()
    with job.fileStore.readGlobalFileStream(written, encoding="utf-8") as s:
        written_text = s.read()
    return written_text, streamed_text, job.fileStore.jobStore.file_exists(doomed), written


def make_cleanup_file(job):
    path = job.fileStore.getLocalTempFile()
    open(path, "w").write("temp")
    temp = job.fileStore.writeGlobalFile(path, cleanup=True)
    keep = job.fileStore.writeGlobalFile(path)
    job.addChildFn(check_exists, temp)
    return temp, keep


def check_exists(file_id):
    return True


class CounterService(Job.Service):
    def __init__(self, path):
        Job.Service.__init__(self, memory="10M", cores=0.1, disk="1M")
        self.path = path

    def start(self, job):
        log_event(self.path, "svc-start")
        return "port-1234"

    def check(self):
        return True

    def stop(self, job):
        log_event(self.path, "svc-stop")


def use_service(job, address, path):
    log_event(path, f"use {address}")
    return address


def with_service(job, path):
    value = job.addService(CounterService(path))
    job.addChildJobFn(use_service, value, path)
    job.addChildJobFn(use_service, value, path)


def flaky_checkpoint(job, marker):
    log_event(marker + ".cp", "checkpoint-run")
    job.addChildJobFn(flaky, marker, 2)
    return "checkpoint done"


def flaky(job, marker, failures=1):
    count = int(open(marker).read()) if os.path.exists(marker) else 0
    open(marker, "w").write(str(count + 1))
    if count < failures:
        raise RuntimeError("first try of the subtree fails")


def report_cores(job):
    return job.cores


def deferring(job, marker, fail):
    job.defer(log_event, marker, "deferred")
    if fail:
        raise RuntimeError("boom")


def always_fails(job):
    raise ValueError("this job always fails")


def chain(job, i, n, path):
    log_event(path, str(i))
    if i < n:
        job.addChildJobFn(chain, i + 1, n, path)
    return i


def slow_with_interval(job, path, memory_per_job=None):
    start = time.time()
    time.sleep(0.2)
    with open(path, "a") as f:
        f.write(f"{start} {time.time()}\n")


def many_slow(job, n, path, cores=1, memory="10M"):
    for _ in range(n):
        job.addChildJobFn(slow_with_interval, path, cores=cores, memory=memory, disk="1M")


def realtime(job):
    RealtimeLogger.info("realtime hello from a job")


def text(n):
    return "x" * n


def relay(job, n):
    return job.addChildFn(text, n).rv()  # a value that is a promise of the child's


def lengths(values):
    return [len(v) for v in values]


def small_and_large_values(job):
    values = [job.addChildJobFn(relay, n).rv() for n in (10, 5000)] + [job.addChildFn(text, n).rv() for n in (20, 3000)]
    return job.addFollowOnFn(lengths, values).rv()


# -- tests ---------------------------------------------------------------------------------------------------------
def test_fan_out_summed_through_promises(run_workflow):
    assert run_workflow(Job.wrapJobFn(fan_out, 50)) == sum(i * i for i in range(50))


def test_small_return_values_travel_in_the_journal_and_large_ones_in_the_store(run_workflow, job_store):
    # promises of promises resolve whichever way each value travelled
    assert run_workflow(Job.wrapJobFn(small_and_large_values), clean="never") == [10, 5000, 20, 3000]
    stored = sorted(os.path.getsize(p) for p in (job_store / "returns").iterdir())
    assert len(stored) == 2 and stored[0] > 3000  # only the two large values are files of their own


def test_promise_paths_index_and_slice(run_workflow):
    assert run_workflow(Job.wrapJobFn(consume_paths)) == (1, 30, [10, 20], 8)


def test_dynamic_tree(run_workflow):
    assert run_workflow(Job.wrapJobFn(tree, 5)) == 32


def test_children_followons_ordering(run_workflow, tmp_path):
    path = tmp_path / "events"
    run_workflow(Job.wrapJobFn(ordered, str(path)))
    events = [line.split()[0] for line in path.read_text().splitlines()]
    pos = {name: i for i, name in enumerate(events)}
    assert pos["root"] < pos["a"] and pos["root"] < pos["b"]
    assert pos["a-child"] < pos["a-follow"] and pos["a"] < pos["a-child"]
    assert pos["follow"] == len(events) - 1  # after everything below root


def test_job_class_with_requirements_and_messages(run_workflow, caplog):
    with caplog.at_level(logging.INFO):
        assert run_workflow(Greeter("toil"), logLevel="INFO") == "hello toil"
    text = caplog.text
    assert "greeting toil" in text and "cores=1 memory=50000000" in text


def test_files_import_export_and_file_store(job_store, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    with Toil(toil_options(job_store)) as toil:
        imported = toil.import_file(f"file://{src}")
        written_text, streamed_text, doomed_exists, written = toil.start(Job.wrapJobFn(files_job, imported))
        toil.export_file(written, str(tmp_path / "out.txt"))
        toil.exportFile(written, f"file://{tmp_path / 'out2.txt'}")
    assert written_text == "HELLO\n" and streamed_text == b"streamed!" and doomed_exists is False
    assert (tmp_path / "out.txt").read_text() == "HELLO\n" == (tmp_path / "out2.txt").read_text()


def test_cleanup_files_are_deleted_when_the_subtree_is_done(job_store):
    with Toil(toil_options(job_store, clean="never")) as toil:
        temp, keep = toil.start(Job.wrapJobFn(make_cleanup_file))
        js = toil._jobStore
        assert not js.file_exists(temp) and js.file_exists(keep)


def test_services_start_before_and_stop_after_their_users(run_workflow, tmp_path):
    path = tmp_path / "events"
    run_workflow(Job.wrapJobFn(with_service, str(path)))
    events = [line.split(" ", 1)[0] for line in path.read_text().splitlines()]
    assert events[0] == "svc-start" and events[-1] == "svc-stop" and events.count("use") == 2
    assert "use port-1234" in path.read_text()


def failing_user_of_a_service(job, path):
    job.addService(CounterService(path))
    job.addChildJobFn(raise_value_error)


def raise_value_error(job):
    raise ValueError("the service's user failed")


def test_a_failed_user_stops_its_service_instead_of_hanging(run_workflow, tmp_path):
    """The service's owner can never finish once a child failed for good: the service is stopped, the run ends."""
    path = tmp_path / "events"
    with pytest.raises(FailedJobsException, match="the service's user failed"):
        run_workflow(Job.wrapJobFn(failing_user_of_a_service, str(path)), retryCount=0)
    events = [line.split(" ", 1)[0] for line in path.read_text().splitlines()]
    assert events == ["svc-start", "svc-stop"]


def test_checkpoint_reruns_its_subtree(run_workflow, tmp_path):
    marker = tmp_path / "count"
    root = Job.wrapJobFn(flaky_checkpoint, str(marker), checkpoint=True)
    # the child fails twice (both of its tries); the checkpoint then runs again, with a fresh child
    assert run_workflow(root, retryCount=1) == "checkpoint done"
    assert marker.read_text() == "3"
    assert Path(str(marker) + ".cp").read_text().count("checkpoint-run") == 2


def test_promised_requirement(run_workflow):
    def parent(job):
        three = job.addChildFn(square, 1.5).rv()  # 2.25
        return job.addFollowOnJobFn(report_cores, cores=PromisedRequirement(lambda x: x / 2.25, three)).rv()

    assert run_workflow(Job.wrapJobFn(parent)) == 1.0


def test_deferred_functions_run_after_success_and_failure(run_workflow, tmp_path):
    marker = tmp_path / "deferred"
    run_workflow(Job.wrapJobFn(deferring, str(marker), False))
    assert marker.read_text().count("deferred") == 1
    with pytest.raises(FailedJobsException):
        run_workflow(Job.wrapJobFn(deferring, str(marker), True), retryCount=0, jobStore=str(tmp_path / "js2"))
    assert marker.read_text().count("deferred") == 2


def test_failure_keeps_the_job_store_and_restart_finishes(job_store, tmp_path):
    marker = tmp_path / "count"
    with pytest.raises(FailedJobsException) as err:
        with Toil(toil_options(job_store, retryCount=0)) as toil:
            toil.start(Job.wrapJobFn(flaky, str(marker)))
    assert "flaky" in str(err.value) and "--restart" in str(err.value)
    assert job_store.exists()
    with Toil(toil_options(job_store, restart=True, clean="never")) as toil:
        toil.restart()
    assert marker.read_text() == "2"
    with Toil(toil_options(job_store, restart=True)) as toil:  # restart of a finished workflow
        assert toil.restart() is None
    assert not job_store.exists()  # cleaned on success


def test_restart_returns_the_root_value_of_a_finished_workflow(job_store):
    with Toil(toil_options(job_store, clean="never")) as toil:
        assert toil.start(Job.wrapJobFn(fan_out, 5)) == 30
    with Toil(toil_options(job_store, restart=True, clean="never")) as toil:
        assert toil.restart() == 30


def test_retries_then_fails_with_the_job_named(run_workflow, caplog):
    with caplog.at_level(logging.WARNING):
        with pytest.raises(FailedJobsException) as err:
            run_workflow(Job.wrapJobFn(always_fails), retryCount=2)
    assert "always_fails" in str(err.value)
    assert caplog.text.count("this job always fails") >= 3  # three tries, each log shown
    assert "Log from job" in caplog.text and "Traceback" in caplog.text


def test_chaining_runs_a_chain_in_one_process(run_workflow, tmp_path):
    path = tmp_path / "events"
    assert run_workflow(Job.wrapJobFn(chain, 0, 30, str(path))) == 0
    pids = {line.split()[2] for line in path.read_text().splitlines()}
    assert len(path.read_text().splitlines()) == 31 and len(pids) == 1


def test_disable_chaining_still_correct(run_workflow, tmp_path):
    path = tmp_path / "events"
    run_workflow(Job.wrapJobFn(chain, 0, 10, str(path)), disableChaining=True, maxJobsPerWorker=1)
    pids = {line.split()[2] for line in path.read_text().splitlines()}
    assert len(pids) == 11  # one fresh process per job


@pytest.mark.parametrize(
    "job_cores,job_memory,limits",
    [
        (1, "10M", {"maxCores": 2}),  # 2 fit by cores
        (0.1, "60M", {"maxCores": 2, "maxMemory": "130M"}),  # 2 fit by memory
    ],
)
def test_local_batch_never_oversubscribes(run_workflow, tmp_path, job_cores, job_memory, limits):
    from toil.lib.conversions import human2bytes

    limits = {k: human2bytes(v) if isinstance(v, str) else v for k, v in limits.items()}
    path = tmp_path / "intervals"
    run_workflow(
        Job.wrapJobFn(many_slow, 8, str(path), job_cores, job_memory, cores=0.1, memory="1M", disk="1M"), **limits
    )
    intervals = [tuple(map(float, line.split())) for line in path.read_text().splitlines()]
    assert len(intervals) == 8
    peak = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert peak == 2


def test_job_larger_than_the_machine_fails_clearly(run_workflow):
    with pytest.raises(FailedJobsException, match="requests 64 cores"):
        run_workflow(Job.wrapFn(square, 2, cores=64))


def test_realtime_logging_reaches_the_leader(run_workflow, caplog):
    with caplog.at_level(logging.INFO):
        run_workflow(Job.wrapJobFn(realtime), realTimeLogging=True, logLevel="INFO")
    assert "realtime hello from a job" in caplog.text


def test_start_toil_and_multiple_predecessors(job_store):
    root = Job()
    a, b = root.addChildFn(square, 2), root.addChildFn(square, 3)
    both = Job.wrapFn(add_all, [a.rv(), b.rv()])
    a.addChild(both)
    b.addChild(both)
    root.addFollowOnFn(add_all, [both.rv()])
    options = toil_options(job_store)
    assert Job.Runner.startToil(root, options) is None
    assert not Path(job_store).exists()


def encapsulated_parent(job, path):
    inner = Job.wrapJobFn(ordered_child, path, "inner")
    wrapped = inner.encapsulate()
    job.addChild(wrapped)
    wrapped.addChildFn(log_event, path, "after-wrapped")
    return wrapped.rv()


def test_encapsulated_successors_run_after_the_whole_subtree(run_workflow, tmp_path):
    path = tmp_path / "events"
    run_workflow(Job.wrapJobFn(encapsulated_parent, str(path)))
    events = [line.split()[0] for line in path.read_text().splitlines()]
    assert events == ["inner", "inner-child", "after-wrapped"]


class CheckedService(Job.Service):
    def __init__(self, path, fail):
        Job.Service.__init__(self, memory="10M", cores=0.1, disk="1M")
        self.path, self.fail = path, fail

    def start(self, job):
        return "ok"

    def check(self):
        log_event(self.path, "check")
        if self.fail:
            raise RuntimeError("the service died")
        return True

    def stop(self, job):
        log_event(self.path, "stop")


def slow_user(job, value):
    time.sleep(0.6)


def service_owner(job, path, fail):
    job.addChildJobFn(slow_user, job.addService(CheckedService(path, fail)))


def test_service_check_is_called_and_its_failure_fails_the_workflow(run_workflow, tmp_path):
    path = tmp_path / "events"
    run_workflow(Job.wrapJobFn(service_owner, str(path), False), servicePollingInterval=0.1)
    text = path.read_text()
    assert text.count("check") >= 2 and text.rstrip().endswith(text.splitlines()[-1]) and "stop" in text
    with pytest.raises(FailedJobsException, match="CheckedService"):
        run_workflow(
            Job.wrapJobFn(service_owner, str(path), True),
            servicePollingInterval=0.1,
            retryCount=0,
            jobStore=str(tmp_path / "js2"),
        )


def temp_names(job):
    name = job.fileStore.getLocalTempFileName()
    assert not os.path.exists(name) and os.path.dirname(name) == os.path.abspath(job.fileStore.localTempDir)
    return os.getcwd() == job.fileStore.localTempDir


def test_temp_names_and_working_directory(run_workflow):
    assert run_workflow(Job.wrapJobFn(temp_names)) is True  # jobs run inside their temp directory


def test_users_own_argparse_parser(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3)
    Job.Runner.addToilOptions(parser)
    options = parser.parse_args([str(tmp_path / "js"), "--n", "4", "--maxCores", "1", "--logLevel", "WARNING"])
    with Toil(options) as toil:
        assert toil.start(Job.wrapJobFn(fan_out, options.n)) == 14
        assert toil.config.maxCores == 1 and toil.options is options


def test_log_file(run_workflow, tmp_path):
    log_file = tmp_path / "leader.log"
    run_workflow(Greeter("file"), logFile=str(log_file), logLevel="INFO")
    assert "greeting file" in log_file.read_text()


def slow_square(x):
    time.sleep(0.02)  # longer than --badWorkerFailInterval: a kill lands while the job runs, not after it
    return x * x


def slow_fan_out(job, n):
    return job.addFollowOnFn(add_all, [job.addChildFn(slow_square, i).rv() for i in range(n)]).rv()


def test_jobs_killed_at_random_are_retried_and_the_workflow_completes(run_workflow, caplog):
    with caplog.at_level(logging.WARNING):
        assert run_workflow(
            Job.wrapJobFn(slow_fan_out, 60), badWorker=0.3, badWorkerFailInterval=0.005, retryCount=20
        ) == sum(i * i for i in range(60))
    assert "killed by signal SIGKILL" in caplog.text  # some were killed, and each was retried


def read_env(name):
    return os.environ.get(name)


def test_set_env_reaches_jobs(run_workflow, monkeypatch):
    monkeypatch.setenv("FROM_LEADER", "leader-value")
    root = Job.wrapFn(read_env, "MY_SETTING")
    root.addFollowOnFn(read_env, "FROM_LEADER")
    assert run_workflow(root, environment={"MY_SETTING": "42", "FROM_LEADER": None}) == "42"


def hog_owner(job):
    value = job.addService(HogService())
    job.addChildFn(read_env, "X", cores=1)
    return value


class HogService(Job.Service):
    def __init__(self):
        Job.Service.__init__(self, cores=2, memory="10M", disk="1M")

    def start(self, job):
        return 1

    def stop(self, job):
        pass


def test_services_holding_every_core_are_reported_as_a_deadlock(run_workflow):
    with pytest.raises(FailedJobsException, match="deadlock"):
        run_workflow(Job.wrapJobFn(hog_owner, cores=0.1), maxCores=2, deadlockWait=1)


def test_stats_keep_the_job_store_and_record_each_job(job_store):
    with Toil(toil_options(job_store, stats=True, clean="always")) as toil:
        toil.start(Job.wrapJobFn(fan_out, 3))
    lines = (job_store / "stats" / "stats.jsonl").read_text().splitlines()
    import json

    records = [json.loads(line) for line in lines]
    names = sorted(r["name"] for r in records if "t" not in r)
    assert names.count("square") == 3 and "fan_out" in names and "add_all" in names
    assert [r["t"] for r in records if "t" in r] == ["run", "end"]  # the leader's run, start and end


def kill_the_fork_server(job, marker):
    import signal as _signal

    if not os.path.exists(marker):
        open(marker, "w").write("done")
        os.kill(os.getppid(), _signal.SIGKILL)  # a worker's parent is the fork server
        time.sleep(5)
    return "survived"


def test_the_fork_server_dying_is_survived(run_workflow, tmp_path):
    root = Job.wrapJobFn(kill_the_fork_server, str(tmp_path / "marker"))
    root.addChildFn(square, 3)
    assert run_workflow(root) == "survived"


def chain_then_die(job, i, path, die_at):
    log_event(path, str(i))
    if i == die_at and not os.path.exists(path + ".died"):
        open(path + ".died", "w").write("x")
        os.kill(os.getpid(), 9)
    if i < die_at + 2:
        job.addChildJobFn(chain_then_die, i + 1, path, die_at)


def test_a_worker_dying_mid_chain_keeps_the_finished_links(run_workflow, tmp_path):
    path = str(tmp_path / "events")
    run_workflow(Job.wrapJobFn(chain_then_die, 0, path, 3), retryCount=1)
    runs = [line.split()[0] for line in open(path).read().splitlines()]
    assert runs == ["0", "1", "2", "3", "3", "4", "5"]  # only the link that died runs again
