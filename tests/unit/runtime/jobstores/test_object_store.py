"""The object-store job store's own logic over an in-memory driver: lease, journal segments, retries, caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from tests.unit.runtime.jobstores.memory_driver import MemoryDriver
from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreCorruptError, JobStoreLockedError, ToilUserError
from toil.runtime.jobstores import retry as fs_retry
from toil.runtime.jobstores.journal import encode_record
from toil.runtime.jobstores.object.journal import segment_key
from toil.runtime.jobstores.object.lease import Lease
from toil.runtime.jobstores.object.store import ObjectJobStore


@pytest.fixture
def driver():
    d = MemoryDriver(uuid.uuid4().hex)
    d.create_container()
    return d


@pytest.fixture
def store(driver, tmp_path, monkeypatch):
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "node"))
    monkeypatch.setenv("TOIL_JOBSTORE_RETRY_SECONDS", "0.001")
    js = ObjectJobStore(f"objmem:{driver.name}", driver)
    js.create({"workflow_id": "w"})
    yield js
    js.unlock_leader()


def handle(driver: MemoryDriver) -> ObjectJobStore:
    """Another process's handle on the same bucket."""
    return ObjectJobStore(f"objmem:{driver.name}", MemoryDriver(driver.name))


# ---------------------------------------------------------------------- the lease
def test_a_live_lease_of_another_machine_is_refused_until_it_expires(store, driver):
    record = {"pid": 1, "host": "elsewhere", "pid_space": "another-machine", "renewed": time.time(), "ttl": 60}
    driver.put("lease/000000000001", json.dumps(record).encode())
    with pytest.raises(JobStoreLockedError, match="pid 1 on elsewhere"):
        store.lock_leader()
    assert store.leader_lease_held() and store.leader_info()["host"] == "elsewhere"
    driver.put("lease/000000000001", json.dumps({**record, "renewed": time.time() - 61}).encode())
    assert not store.leader_lease_held()
    store.lock_leader()  # an expired lease may be taken: epoch 2
    assert driver.head("lease/000000000002") is not None and store.leader_info()["pid"] == os.getpid()


def test_a_dead_leader_on_this_machine_is_known_dead_at_once(store, driver):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from toil.lib.host import pid_space

    record = {"pid": dead.pid, "host": "here", "pid_space": pid_space(), "renewed": time.time(), "ttl": 3600}
    driver.put("lease/000000000003", json.dumps(record).encode())
    assert not store.leader_lease_held()
    store.lock_leader()
    assert store.leader_info()["pid"] == os.getpid()


def test_the_holder_renews_and_notices_a_later_epoch(store, driver, monkeypatch):
    monkeypatch.setenv("TOIL_LEASE_SECONDS", "2")
    store.lock_leader()
    first = json.loads(driver.get("lease/000000000001"))["renewed"]
    time.sleep(1.2)  # two renewals at TTL/4
    assert json.loads(driver.get("lease/000000000001"))["renewed"] > first
    driver.put("lease/000000000002", b"{}")  # another leader took it while this one was stalled
    time.sleep(0.8)
    assert store._lease.lost


def test_two_handles_racing_for_one_epoch_get_one_lease(driver):
    results: list[str] = []

    def take() -> None:
        lease = Lease(MemoryDriver(driver.name), lambda who: JobStoreLockedError(str(who)))
        try:
            lease.acquire()
            results.append("won")
        except JobStoreLockedError:
            results.append("refused")

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused", "won"]


# ---------------------------------------------------------------------- the journal
def test_a_segment_written_by_another_leader_stops_this_one(store, driver):
    journal = store.journal()
    journal.load()
    journal.append([{"t": "a"}])
    driver.put(segment_key(0), encode_record({"t": "other"}))
    with pytest.raises(JobStoreLockedError, match="written by another leader"):
        journal.sync()


def test_a_retried_segment_write_whose_answer_was_lost_is_ours(store, driver):
    journal = store.journal()
    journal.load()
    journal.append([{"t": "a"}])
    driver.put(segment_key(0), encode_record({"t": "a"}))  # the first try landed; its answer did not
    journal.sync()
    assert handle(driver).journal().load()[1] == [{"t": "a"}]


def test_a_torn_last_record_is_dropped_and_a_damaged_earlier_one_refused(store, driver):
    driver.put(segment_key(0), encode_record({"t": "a"}) + encode_record({"t": "b"})[:-6])
    snapshot, records = store.journal().load()
    assert records == [{"t": "a"}] and driver.get(segment_key(0)) == encode_record({"t": "a"})  # repaired
    driver.put(segment_key(0), b"garbage\n" + encode_record({"t": "a"}))
    with pytest.raises(JobStoreCorruptError, match="record 1 is damaged"):
        handle(driver).journal().load()


def test_a_gap_in_the_segments_is_refused(store, driver):
    driver.put(segment_key(0), encode_record({"t": "a"}))
    driver.put(segment_key(5), encode_record({"t": "f"}))
    with pytest.raises(JobStoreCorruptError, match="out of sequence"):
        store.journal().load()


def test_a_snapshot_deletes_what_it_covers(store, driver):
    journal = store.journal()
    journal.load()
    for t in "abc":
        journal.append([{"t": t}])
        journal.sync()
    journal.write_snapshot({"k": 1})
    assert [i.key for i in driver.list("journal/")] == ["journal/snap-000000000003"]


# ---------------------------------------------------------------------- retries and requests
def test_transient_errors_are_retried_and_counted(store, driver, caplog):
    before = sum(fs_retry.RETRIED.values())
    store.driver.inner.faults = {"put": 2, "get": 1}  # type: ignore[attr-defined]
    store.write_return("n1", b"value")
    assert store.read_return("n1") == b"value"
    assert sum(fs_retry.RETRIED.values()) - before == 3
    assert "retrying" in caplog.text


def test_a_global_file_is_downloaded_once_per_node(store, driver, tmp_path):
    src = tmp_path / "big"
    src.write_bytes(b"x" * 1000)
    file_id, _, _ = store.write_file(str(src))
    reader = handle(driver)
    inner = reader.driver.inner  # type: ignore[attr-defined]
    gets = []
    real_get = inner.get
    inner.get = lambda key: (gets.append(key), real_get(key))[1]
    threads = [threading.Thread(target=reader.read_file, args=(file_id, str(tmp_path / f"copy{i}"))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [g for g in gets if g.startswith("files/")] == [f"files/{file_id}"]
    assert all((tmp_path / f"copy{i}").read_bytes() == b"x" * 1000 for i in range(4))


def test_payloads_are_fetched_once_per_pack(store, driver):
    store.write_pack("p", b"aaaabbbbcccc")
    reader = handle(driver)
    calls = reader.driver.inner.calls  # type: ignore[attr-defined]
    assert [reader.read_payload(PayloadRef("p", i * 4, 4)) for i in range(3)] == [b"aaaa", b"bbbb", b"cccc"]
    assert reader.driver.inner.calls - calls == 1  # type: ignore[attr-defined]


def test_a_bucket_holding_something_else_is_not_taken_or_deleted(driver, tmp_path, monkeypatch):
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path))
    driver.put("someone/else.txt", b"data")
    js = ObjectJobStore(f"objmem:{driver.name}", driver)
    with pytest.raises(ToilUserError, match="exists, is not empty and holds no job store"):
        js.create({})
    with pytest.raises(ToilUserError, match="holds no job store"):
        js.destroy()
    assert driver.get("someone/else.txt") == b"data"


def test_a_forked_worker_makes_its_own_client(monkeypatch):
    """Clients hold pooled connections: one shared by the leader and a forked worker mixes their answers."""
    from toil.runtime.jobstores.object.driver import PerProcess

    made: list[int] = []
    client = PerProcess(lambda: made.append(os.getpid()) or object())
    first = client.get()
    assert client.get() is first and len(made) == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new client, not the parent's
        os.write(write, b"1" if client.get() is not first and len(made) == 2 else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert client.get() is first
