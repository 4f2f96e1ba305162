"""The remote batch system base against a fake scheduler in pure Python: submission through job store
messages, batched polls, a job the scheduler forgets becoming lost, cancel by label, tiny-job packing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toil.compiler.ir import Resources
from toil.runtime.batch import new_batch_system
from toil.runtime.batch.base import BatchContext, BatchJob
from toil.runtime.batch.remote.base import MISSING_POLLS, JobState, Launch, RemoteBatchSystem, SubmitRejected
from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore


class FakeScheduler(RemoteBatchSystem):
    """A scheduler that is a dict: the test says what state each job is in."""

    name = "fake"

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        self.engine: dict[str, JobState] = {}
        self.launches: dict[str, tuple[BatchJob, Launch]] = {}
        self.cancelled: list[str] = []
        self.workflow_cancels: list[list[str]] = []
        self.too_big: set[str] = set()
        self.queries = 0

    def submit(self, job: BatchJob, launch: Launch) -> str:
        if job.token in self.too_big:
            raise SubmitRejected("more cores than any node")
        batch_id = str(100 + len(self.launches))
        self.launches[batch_id] = (job, launch)
        self.engine[batch_id] = JobState(batch_id, "pending")
        return batch_id

    def query(self) -> dict[str, JobState]:
        self.queries += 1
        return dict(self.engine)

    def cancel(self, ids: list[str]) -> None:
        self.cancelled += ids
        for i in ids:
            self.engine[i] = JobState(i, "cancelled")

    def cancel_workflow(self, ids: list[str]) -> None:
        self.workflow_cancels.append(sorted(ids))

    def set(self, batch_id: str, state: str, code: int | None = None) -> None:
        self.engine[batch_id] = JobState(batch_id, state, code)


@pytest.fixture
def store(tmp_path: Path) -> FileJobStore:
    config = Config()
    config.workflowID = "1234-5678-9abc-def0"
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json(), "main": "/home/me/flow.py"})
    return js


def fake(store: FileJobStore, **options: object) -> FakeScheduler:
    config = Config.from_json(store.read_meta()["config"])
    for k, v in {"packSize": 3, **options}.items():
        setattr(config, k, v)
    b = new_batch_system(FakeScheduler, BatchContext(config, store, "/tmp"))
    assert isinstance(b, FakeScheduler)
    return b


def job(i: int, name: str = "work", cores: float = 1.0) -> BatchJob:
    return BatchJob(
        f"n{i}.0", f"n{i}", f"'{name}' n{i}", Resources(cores, 2**20, 2**20), {"token": f"n{i}.0"}, name=name
    )


def poll(b: FakeScheduler) -> dict[str, object]:
    """One poll now; the completions it brought, by token."""
    b._next_poll = 0.0
    return {c.token: c for c in b.wait(0.0)}


def batch_id_of(b: FakeScheduler, token: str) -> str:
    return b.batch_ids()[token]


def test_a_job_is_one_launch_whose_message_is_in_the_job_store(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    b.issue(job(1))
    [(submitted, launch)] = b.launches.values()
    assert submitted.token == "n1.0"
    assert (launch.kind, launch.job_store, launch.log) == ("job", store.locator, None)
    message = json.loads(store.read_message(launch.message))
    assert message == {"token": "n1.0", "main": "/home/me/flow.py"}
    assert b.label == "toil_123456789abc"
    assert b.queued_tokens() == ["n1.0"] and b.running_tokens() == []


def test_polls_report_running_then_the_end_and_drop_the_message(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    for i in range(4):
        b.issue(job(i))
    ids = [batch_id_of(b, f"n{i}.0") for i in range(4)]
    b.set(ids[0], "running")
    assert poll(b) == {} and b.running_tokens() == ["n0.0"] and b.queries == 1
    b.set(ids[0], "done", 0)
    b.set(ids[1], "failed", 3)
    b.set(ids[2], "oom", 137)
    b.set(ids[3], "lost")
    done = poll(b)
    assert b.queries == 2, "one query per poll, for all the jobs"
    assert done["n0.0"].ok and not done["n1.0"].ok and done["n1.0"].exit_code == 3
    assert done["n2.0"].oom and done["n3.0"].lost and not done["n1.0"].lost
    assert done["n0.0"].batch_id == ids[0]
    with pytest.raises(KeyError):
        store.read_message("n0.0.json")
    assert b.issued_tokens() == []


def test_a_job_missing_from_the_polls_is_lost_after_missing_polls(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    b.issue(job(1))
    del b.engine[batch_id_of(b, "n1.0")]
    for _ in range(MISSING_POLLS - 1):
        assert poll(b) == {}
    b.engine["other"] = JobState("other", "running")
    [c] = poll(b).values()
    assert c.lost and c.exit_code is None and "forgot" in c.reason and not c.killed


def test_a_job_that_reappears_starts_its_missing_count_again(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    b.issue(job(1))
    batch_id = batch_id_of(b, "n1.0")
    saved = b.engine.pop(batch_id)
    for _ in range(MISSING_POLLS - 1):
        poll(b)
    b.engine[batch_id] = saved
    poll(b)
    del b.engine[batch_id]
    for _ in range(MISSING_POLLS - 1):
        assert poll(b) == {}


def test_kill_cancels_and_shutdown_cancels_the_workflow_by_label(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    b.issue(job(1))
    b.issue(job(2))
    b.kill(["n1.0"])
    assert b.cancelled == [batch_id_of(b, "n1.0")]
    [c] = poll(b).values()
    assert c.token == "n1.0" and c.killed and not c.lost
    b.shutdown()
    assert b.workflow_cancels == [[str(101)]] and b.issued_tokens() == []


def test_start_cancels_what_a_previous_leader_left_queued(store: FileJobStore) -> None:
    b = fake(store)
    b.engine = {"7": JobState("7", "running"), "8": JobState("8", "pending"), "9": JobState("9", "done", 0)}
    b.start()
    assert sorted(b.cancelled) == ["7", "8"]


def test_a_rejected_job_fails_for_good(store: FileJobStore) -> None:
    b = fake(store, packJobs=False)
    b.too_big.add("n1.0")
    b.issue(job(1))
    [c] = b.wait(0.0)
    assert c.permanent and "more cores than any node" in c.reason and "fake rejected" in c.reason
    assert b.launches == {} and b.issued_tokens() == []


def _probe_then_held(b: FakeScheduler, count: int) -> None:
    """The first job of a name runs alone; the rest wait for it; it ends in a second: the name is tiny."""
    for i in range(count + 1):
        b.issue(job(i))
    assert len(b.launches) == 1 and sorted(b.queued_tokens()) == sorted(f"n{i}.0" for i in range(count + 1))
    b.set(batch_id_of(b, "n0.0"), "done", 0)


def test_tiny_jobs_are_packed_and_report_one_by_one(store: FileJobStore) -> None:
    b = fake(store)
    _probe_then_held(b, 4)
    assert list(poll(b)) == ["n0.0"]
    packs = [(j, launch) for j, launch in b.launches.values() if launch.kind == "pack"]
    alone = [j.token for j, launch in b.launches.values() if launch.kind == "job"]
    assert len(packs) == 1 and len(alone) == 2, "a pack of 3 (--packSize) and a leftover single"
    carrier, launch = packs[0]
    pack = json.loads(store.read_message(launch.message))
    members = [e["token"] for e in pack["jobs"]]
    assert len(members) == 3 and pack["main"] == "/home/me/flow.py" and carrier.resources.cores == 1.0
    assert all(json.loads(store.read_message(e["message"]))["token"] == e["token"] for e in pack["jobs"])
    pack_id = batch_id_of(b, members[0])
    first, second, third = members
    b.set(pack_id, "running")
    store.write_message(pack["progress"], f"start {first} 1.0\nend {first} 0 0.2\nstart {second} 1.2\n".encode())
    done = poll(b)
    assert list(done) == [first] and done[first].ok and b.running_tokens() == [second]
    b.kill([second])
    assert store.read_message(pack["cancel"]).split() == [second.encode()]
    assert pack_id not in b.cancelled, "a packed job is cancelled inside its pack, not with its allocation"
    store.write_message(
        pack["progress"],
        f"start {first} 1.0\nend {first} 0 0.2\nstart {second} 1.2\nkilled {second} 137 0.5\n".encode(),
    )
    done = poll(b)
    assert list(done) == [second] and done[second].killed
    b.set(pack_id, "done", 0)
    done = poll(b)
    assert list(done) == [third] and done[third].lost and "before it started" in done[third].reason
    for name in (launch.message, pack["progress"], pack["cancel"]):
        with pytest.raises(KeyError):
            store.read_message(name)


def test_a_pack_lost_while_a_job_ran_loses_that_job(store: FileJobStore) -> None:
    b = fake(store)
    _probe_then_held(b, 3)
    poll(b)
    [(_, launch)] = [x for x in b.launches.values() if x[1].kind == "pack"]
    pack = json.loads(store.read_message(launch.message))
    first = pack["jobs"][0]["token"]
    store.write_message(pack["progress"], f"start {first} 1.0\n".encode())
    b.set(batch_id_of(b, first), "lost")
    done = poll(b)
    assert all(c.lost for c in done.values()) and len(done) == 3
    assert "while it ran" in done[first].reason


def test_a_packed_jobs_log_comes_back_as_a_message_where_the_engine_keeps_none(store: FileJobStore) -> None:
    b = fake(store)
    _probe_then_held(b, 2)
    poll(b)
    [(_, launch)] = [x for x in b.launches.values() if x[1].kind == "pack"]
    pack = json.loads(store.read_message(launch.message))
    token = pack["jobs"][0]["token"]
    assert pack["jobs"][0]["log"] is None
    store.write_message(f"{token}.log", b"the job's output\n")
    store.write_message(pack["progress"], f"start {token} 1.0\nend {token} 1 0.1\n".encode())
    [c] = poll(b).values()
    assert c.exit_code == 1 and c.log_path is None
    assert b.read_log(c) == b"the job's output\n"
    b.discard_log(c)
    assert b.read_log(c) is None


def test_held_jobs_killed_before_submission_and_packing_off(store: FileJobStore) -> None:
    b = fake(store)
    b.issue(job(0))
    b.issue(job(1))
    b.kill(["n1.0"])
    [c] = b.wait(0.0)
    assert c.token == "n1.0" and c.killed and "before it was submitted" in c.reason
    with pytest.raises(KeyError):
        store.read_message("n1.0.json")
    off = fake(store, packJobs=False)
    for i in range(5):
        off.issue(job(i))
    assert len(off.launches) == 5


def test_a_batch_system_that_cannot_pack_never_packs(store: FileJobStore) -> None:
    class NoPacks(FakeScheduler):
        supports_packing = False

    config = Config.from_json(store.read_meta()["config"])
    b = NoPacks(BatchContext(config, store, "/tmp"))
    assert b.packer.policy.enabled is False and FakeScheduler.supports_packing
    for i in range(4):
        b.issue(job(i))
    assert len(b.launches) == 4
