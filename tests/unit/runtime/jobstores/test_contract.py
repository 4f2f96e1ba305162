"""The job store contract: what every store promises, run against each store (file: and an in-memory one).

A store that passes these can hold a workflow: the leader, workers and the
``toil`` utility use nothing else. ``other`` is a second handle on the same
store, as another process (or host) would have.
"""

from __future__ import annotations

import fcntl
import os
import uuid

import pytest

from tests.objectstores import aws_locator, s3_env
from tests.unit.runtime.jobstores import memory_driver, memory_store
from tests.unit.runtime.jobstores.memory_store import MemoryJobStore
from toil.compiler.ir import PayloadRef
from toil.exceptions import (
    JobStoreCorruptError,
    JobStoreExistsException,
    JobStoreLockedError,
    NoSuchJobStoreException,
    ToilUserError,
)
from toil.runtime.jobstores import (
    JobStore,
    NoSuchFileException,
    normalize_locator,
    open_job_store,
    parse_locator,
    registry,
)
from toil.runtime.jobstores.file.store import FileJobStore


@pytest.fixture
def memory_scheme(monkeypatch):
    """The memory: scheme registered for one test (as a new store's module would register itself)."""
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))
    memory_store.register()


@pytest.fixture(params=["file", "memory", "object-memory", "aws-moto", "aws-s3rver"])
def new_store(request, tmp_path, memory_scheme, monkeypatch):
    """A handle on a store that does not exist yet."""
    if request.param == "file":
        store: JobStore = FileJobStore(str(tmp_path / "js"))
    elif request.param == "memory":
        store = MemoryJobStore(f"contract-{uuid.uuid4().hex}")
    elif request.param == "object-memory":  # the object store's own logic, with no server
        monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "node"))
        memory_driver.register(monkeypatch)
        store = open_job_store(f"objmem:contract-{uuid.uuid4().hex}")
    else:
        for name, value in s3_env(request.param.split("-", 1)[1]).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "node"))
        store = open_job_store(aws_locator("contract"))
    yield store
    store.unlock_leader()
    store.destroy()


@pytest.fixture
def store(new_store):
    new_store.create({"workflow_id": "w", "config": {"retryCount": 1}})
    return new_store


def other(store: JobStore) -> JobStore:
    """Another handle on the same store, opened by its locator."""
    again = open_job_store(store.locator)
    assert type(again) is type(store) and again is not store
    return again


# ---------------------------------------------------------------------- locators and the registry
def test_locators_resolve_through_the_registry(memory_scheme):
    assert isinstance(open_job_store("memory:x"), MemoryJobStore)
    assert normalize_locator("memory:x") == "memory:x"
    assert parse_locator("memory:a:b") == ("memory", "a:b")
    assert normalize_locator("file:rel") == f"file:{os.path.abspath('rel')}"
    with pytest.raises(ToilUserError, match="^unknown job store type 'nosuch' in 'nosuch:x'"):
        parse_locator("nosuch:x")


def test_an_unregistered_scheme_is_unknown():
    with pytest.raises(ToilUserError, match="unknown job store type 'memory'"):
        parse_locator("memory:x")


# ---------------------------------------------------------------------- life cycle and metadata
def test_create_read_write_and_destroy(new_store):
    assert not new_store.exists()
    with pytest.raises(NoSuchJobStoreException):
        new_store.read_meta()
    new_store.create({"workflow_id": "w", "config": {"a": [1, 2]}})
    assert new_store.exists() and other(new_store).exists()
    meta = other(new_store).read_meta()
    assert meta["workflow_id"] == "w" and meta["config"] == {"a": [1, 2]}
    with pytest.raises(JobStoreExistsException):
        other(new_store).create({})
    new_store.write_meta({**meta, "workflow_id": "v"})
    assert other(new_store).read_meta()["workflow_id"] == "v"
    new_store.destroy()
    assert not new_store.exists() and not other(new_store).exists()
    with pytest.raises(NoSuchJobStoreException):
        other(new_store).read_meta()


# ---------------------------------------------------------------------- the lease and the workers lock
def test_one_leader_at_a_time(store):
    assert store.leader_info() == {} and not store.leader_lease_held()
    store.lock_leader()
    assert other(store).leader_info()["pid"] == os.getpid() and other(store).leader_lease_held()
    second = other(store)
    with pytest.raises(JobStoreLockedError, match=f"pid {os.getpid()} .*running on the job store {store.locator}"):
        second.lock_leader()
    second.unlock_leader()  # it holds nothing: the lease stays with the first handle
    assert other(store).leader_lease_held()
    store.unlock_leader()
    assert store.leader_info() == {} and not other(store).leader_lease_held()
    second.lock_leader()
    assert other(store).leader_lease_held()
    second.unlock_leader()


def test_the_lease_descriptors_are_open_while_it_is_held(store):
    assert store.leader_lease_fds() == []
    store.lock_leader()
    for fd in store.leader_lease_fds():
        os.fstat(fd)  # a real descriptor a forked child can close
    store.unlock_leader()
    assert store.leader_lease_fds() == []


def test_the_workers_lock(store):
    path = store.workers_lock_path()
    assert not store.workers_running() and store.wait_for_workers(0.0)
    if path is None:
        return  # the store keeps none: leaders do not wait for earlier jobs
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # what a batch system's job process does
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert other(store).workers_running()
        assert not other(store).wait_for_workers(0.1, poll=0.02)
    finally:
        os.close(fd)
    assert not store.workers_running() and store.wait_for_workers(1.0)


# ---------------------------------------------------------------------- the journal
def test_a_new_journal_is_empty(store):
    journal = store.journal()
    assert journal.load() == (None, [])
    assert journal.seq == 0 and journal.base_seq == 0


def test_synced_records_come_back_in_order(store):
    records = [{"t": "a", "n": 1}, {"t": "b", "s": "tab\tnew\nline é ☃", "x": {"y": [1, None, True]}}, {"t": "c"}]
    journal = store.journal()
    journal.load()
    journal.append(records[:2])
    journal.append(records[2:])
    assert journal.seq == 3
    journal.sync()
    reader = other(store).journal()
    assert reader.load() == (None, records)
    assert reader.seq == 3 and reader.base_seq == 0
    assert reader.load(repair=False) == (None, records)  # an observer's read changes nothing


def test_records_not_synced_are_not_durable(store):
    journal = store.journal()
    journal.load()
    journal.append([{"t": "a"}])
    journal.sync()
    journal.append([{"t": "b"}])
    assert other(store).journal().load()[1] == [{"t": "a"}]
    journal.sync()
    assert other(store).journal().load()[1] == [{"t": "a"}, {"t": "b"}]


def test_a_snapshot_covers_the_records_before_it(store):
    journal = store.journal()
    journal.load()
    journal.append([{"t": "a"}, {"t": "b"}])
    journal.write_snapshot({"nodes": [1, 2], "root": "r"})
    assert journal.seq == 2 and journal.base_seq == 2
    journal.append([{"t": "c"}])
    journal.sync()
    reader = other(store).journal()
    snapshot, records = reader.load()
    assert snapshot is not None and snapshot["seq"] == 2 and snapshot["state"] == {"nodes": [1, 2], "root": "r"}
    assert records == [{"t": "c"}]
    assert reader.seq == 3 and reader.base_seq == 2
    reader.append([{"t": "d"}])  # a new leader goes on where the old one stopped
    reader.write_snapshot({"root": "s"})
    snapshot, records = other(store).journal().load()
    assert snapshot is not None and (snapshot["seq"], snapshot["state"], records) == (4, {"root": "s"}, [])


def test_a_closed_journal_loads_again(store):
    journal = store.journal()
    journal.load()
    journal.append([{"t": "a"}])
    journal.close()
    assert journal.load() == (None, [{"t": "a"}])
    journal.append([{"t": "b"}])
    journal.sync()
    assert other(store).journal().load()[1] == [{"t": "a"}, {"t": "b"}]


# ---------------------------------------------------------------------- payloads, returns, results, messages
def test_payloads(store):
    store.write_pack("p1", b"0123456789")
    assert other(store).read_payload(PayloadRef("p1", 2, 5)) == b"23456"
    assert other(store).read_payload(PayloadRef("p1", 0, 10)) == b"0123456789"
    with pytest.raises(JobStoreCorruptError, match=r"cut short \(3 of 5 bytes\)"):
        store.read_payload(PayloadRef("p1", 7, 5))


def test_return_values(store):
    with pytest.raises(KeyError):
        store.read_return("n1")
    store.write_return("n1", b"\x80\x04value")
    store.write_return("n2", b"")
    assert other(store).read_return("n1") == b"\x80\x04value" and other(store).read_return("n2") == b""
    store.write_return("n1", b"again")
    assert other(store).read_return("n1") == b"again"


def test_results(store):
    assert store.read_result("t.0") is None and store.list_results() == []
    store.write_result("t.0", b"r0")
    store.write_result("u.1", b"r1")
    assert sorted(other(store).list_results()) == ["t.0", "u.1"]
    assert other(store).read_result("u.1") == b"r1"
    store.delete_result("t.0")
    store.delete_result("never-written")
    assert other(store).list_results() == ["u.1"] and store.read_result("t.0") is None


def test_messages(store):
    with pytest.raises(KeyError):
        store.read_message("job-1.0")
    store.write_message("job-1.0", b"m1")
    store.write_message("job-1.0", b"m2")
    assert other(store).read_message("job-1.0") == b"m2"
    store.delete_message("job-1.0")
    store.delete_message("job-1.0")
    with pytest.raises(KeyError):
        other(store).read_message("job-1.0")
    with pytest.raises(ValueError, match="bad message name"):
        store.write_message("../escape", b"")


def test_flags(store):
    assert not store.has_flag("svc.stop")
    store.set_flag("svc.stop")
    store.set_flag("svc.stop")
    assert other(store).has_flag("svc.stop") and not other(store).has_flag("svc.start")
    store.clear_flag("svc.stop")
    store.clear_flag("svc.stop")
    assert not other(store).has_flag("svc.stop")


# ---------------------------------------------------------------------- global files
def test_write_read_and_delete_a_file(store, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(b"12345")
    os.chmod(src, 0o755)
    file_id, size, executable = store.write_file(str(src))
    assert file_id.endswith("/data.bin") and size == 5 and executable
    assert other(store).file_exists(file_id) and other(store).get_file_size(file_id) == 5
    assert other(store).file_is_executable(file_id)
    for mode in ("copy", "hardlink", "symlink"):
        dest = tmp_path / f"out-{mode}"
        dest.write_bytes(b"old")  # replaced, not appended to
        other(store).read_file(file_id, str(dest), link=mode)
        assert dest.read_bytes() == b"12345"
    copy_mode = os.stat(tmp_path / "out-copy").st_mode & 0o777
    assert copy_mode == 0o700  # a private copy that keeps its executable bit
    store.delete_file(file_id)
    assert not other(store).file_exists(file_id)
    store.delete_file(file_id)  # deleting twice is no error


def test_a_file_keeps_its_basename_and_a_plain_file_is_not_executable(store, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_text("x")
    os.chmod(src, 0o644)
    file_id, size, executable = store.write_file(str(src), basename="given.txt")
    assert file_id.endswith("/given.txt") and size == 1 and not executable
    assert not store.file_is_executable(file_id)
    store.read_file(file_id, str(tmp_path / "copy"))
    assert os.stat(tmp_path / "copy").st_mode & 0o777 == 0o600


def test_file_streams(store):
    with store.write_file_stream("s.txt") as (f, file_id):
        f.write(b"stream")
        f.write(b"ed")
    assert file_id.endswith("/s.txt")
    with other(store).read_file_stream(file_id) as f:
        assert f.read() == b"streamed"
    assert store.get_file_size(file_id) == 8 and not store.file_is_executable(file_id)


def test_a_stream_that_fails_leaves_no_file(store):
    with pytest.raises(RuntimeError):
        with store.write_file_stream("s.txt") as (f, file_id):
            f.write(b"half")
            raise RuntimeError("the writer died")
    assert not store.file_exists(file_id)


@pytest.mark.parametrize("missing", ["0" * 32 + "/gone.txt", "../../etc/passwd", "not-an-id"])
def test_a_missing_file_is_named(store, tmp_path, missing):
    assert not store.file_exists(missing)
    store.delete_file(missing)
    for call in (
        lambda: store.read_file(missing, str(tmp_path / "x")),
        lambda: store.get_file_size(missing),
        lambda: store.file_is_executable(missing),
    ):
        with pytest.raises(NoSuchFileException) as e:
            call()
        assert e.value.file_id == missing
    with pytest.raises(NoSuchFileException):
        with store.read_file_stream(missing):
            pass
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------- shared files
def test_shared_files(store):
    with pytest.raises(NoSuchFileException, match="no shared file"):
        store.read_shared_file("config.txt")
    store.write_shared_file("config.txt", b"v1")
    store.write_shared_file("config.txt", b"v2")
    assert other(store).read_shared_file("config.txt") == b"v2"
    with pytest.raises(ToilUserError, match="bad shared file name"):
        store.write_shared_file("../escape", b"")


# ---------------------------------------------------------------------- import and export through URL handlers
def test_import_and_export_file_urls(store, tmp_path):
    src = tmp_path / "in dir" / "tool.sh"
    src.parent.mkdir()
    src.write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(src, 0o755)
    url = "file://" + str(src).replace(" ", "%20")
    for symlink in (False, True):
        file_id, size, executable = store.import_file(url, symlink=symlink)
        assert file_id.endswith("/tool.sh") and size == src.stat().st_size and executable
        with other(store).read_file_stream(file_id) as f:
            assert f.read() == src.read_bytes()
    dst = tmp_path / "out" / "deeper" / "tool.sh"
    other(store).export_file(file_id, f"file://{dst}")
    assert dst.read_bytes() == src.read_bytes() and os.stat(dst).st_mode & 0o100
    plain, _, executable = store.import_file(str(tmp_path / "in dir" / ".." / "in dir" / "tool.sh"))
    assert executable
    store.export_file(plain, str(dst))  # a bare path, replacing what is there
    assert dst.read_bytes() == src.read_bytes()


def test_import_into_a_shared_file(store, tmp_path):
    src = tmp_path / "settings.json"
    src.write_text('{"a": 1}')
    assert store.import_file(f"file://{src}", shared_file_name="settings.json") is None
    assert other(store).read_shared_file("settings.json") == b'{"a": 1}'


def test_import_and_export_errors(store, tmp_path):
    with pytest.raises(ToilUserError, match="^cannot import .*/missing: no such file$"):
        store.import_file(str(tmp_path / "missing"))
    with pytest.raises(ToilUserError, match="^cannot read .*/missing: No such file or directory$"):
        store.import_file(str(tmp_path / "missing"), shared_file_name="x")
    with pytest.raises(ToilUserError, match="^cannot use nosuch://b/k: unsupported URL scheme 'nosuch'$"):
        store.import_file("nosuch://b/k")
    src = tmp_path / "f"
    src.write_text("x")
    file_id, _, _ = store.import_file(str(src))
    with pytest.raises(ToilUserError, match="^cannot export to http://h/x: only file paths and file:// URLs"):
        store.export_file(file_id, "http://h/x")
    with pytest.raises(NoSuchFileException):
        store.export_file("0" * 32 + "/gone", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------- logs, stats, status
def test_logs(store):
    assert store.read_log("job.log") is None
    store.write_log("job.log", b"line 1\n")
    store.write_log("job.log", b"line 2\n")
    assert other(store).read_log("job.log") == b"line 2\n"


def test_stats(store):
    assert store.read_stats() is None
    store.append_stats([b'{"a":1}\n'])
    store.append_stats([b'{"b":2}\n', b'{"c":3}\n'])
    assert other(store).read_stats() == b'{"a":1}\n{"b":2}\n{"c":3}\n'


def test_status(store):
    assert store.read_status() is None
    store.write_status(b'{"state":"running"}')
    store.write_status(b'{"state":"completed"}')
    assert other(store).read_status() == b'{"state":"completed"}'


def test_local_area_is_a_directory_or_none(store):
    area = store.local_area("cwl")
    assert area is None or (os.path.isdir(area) and area == other(store).local_area("cwl"))
