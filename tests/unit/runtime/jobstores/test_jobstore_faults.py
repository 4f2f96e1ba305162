"""Damage the job store can detect, and file system calls that fail for a moment and are retried."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from toil.compiler.ir import PayloadRef
from toil.exceptions import JobStoreCorruptError
from toil.runtime import faults
from toil.runtime.jobstores import retry
from toil.runtime.jobstores.file.journal import FileJournal
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.worker.filestore import FileID, _check_size


@pytest.fixture
def js(tmp_path):
    store = FileJobStore(str(tmp_path / "js"))
    store.create({"workflow_id": "w"})
    return store


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("TOIL_JOBSTORE_RETRY_SECONDS", "0")
    monkeypatch.setattr(retry, "RETRIED", retry.RETRIED.__class__())


def test_a_truncated_return_value_is_named_not_unpickled(js):
    js.write_return("n1", b"x" * 100)
    assert js.read_return("n1") == b"x" * 100
    path = os.path.join(js.path, "returns", "n1")
    with open(path, "r+b") as f:
        f.truncate(60)
    with pytest.raises(JobStoreCorruptError, match=r"returns/n1: the return value of job n1 is damaged"):
        js.read_return("n1")


def test_an_overwritten_return_value_fails_its_checksum(js):
    js.write_return("n1", b"abcdef")
    path = os.path.join(js.path, "returns", "n1")
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 1
    open(path, "wb").write(bytes(data))
    with pytest.raises(JobStoreCorruptError):
        js.read_return("n1")


def test_a_payload_cut_short_is_named(js):
    js.write_pack("p", b"0123456789")
    assert js.read_payload(PayloadRef("p", 2, 5)) == b"23456"
    with pytest.raises(JobStoreCorruptError, match=r"p\.pack: a job's payload is cut short \(3 of 5 bytes\)"):
        js.read_payload(PayloadRef("p", 7, 5))


def test_a_global_file_of_the_wrong_size_is_refused():
    _check_size(FileID("abc/f", 10), 10)
    _check_size("abc/f", 3)  # a bare string carries no size: nothing to check
    with pytest.raises(JobStoreCorruptError, match="abc/f .* damaged: 9 bytes where 10 were written"):
        _check_size(FileID("abc/f", 10), 9)


def test_transient_errors_are_retried_with_a_warning(js, tmp_path, fast_retries, monkeypatch, caplog):
    monkeypatch.setattr(faults, "_fs_spec", {"fail": "0.3", "seed": "4"})
    monkeypatch.setattr(faults, "_fs_random", None)
    src = tmp_path / "src"
    src.write_bytes(b"data")
    with caplog.at_level(logging.WARNING):
        ids = [js.write_file(str(src))[0] for _ in range(20)]
    monkeypatch.setattr(faults, "_fs_spec", {})
    assert all(js.file_exists(i) for i in ids)
    assert retry.RETRIED["write_file"] > 0
    assert "Job store call write_file failed (injected I/O error in write_file); retrying" in caplog.text
    assert retry.summary().startswith(f"{sum(retry.RETRIED.values())} job store call(s) retried")


def test_a_lasting_or_non_transient_error_goes_up(fast_retries, monkeypatch):
    monkeypatch.setenv("TOIL_JOBSTORE_RETRIES", "3")
    calls = []

    @retry.retried
    def flaky(code):
        calls.append(code)
        raise OSError(code, os.strerror(code))

    with pytest.raises(OSError):
        flaky(errno.EIO)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(OSError):
        flaky(errno.ENOSPC)  # a full disk needs a person, not a retry
    assert len(calls) == 1


def test_a_journal_write_that_failed_is_written_once_on_retry(tmp_path, fast_retries, monkeypatch):
    journal = FileJournal(str(tmp_path / "state"))
    journal.open_for_append()
    real_fdatasync = os.fdatasync
    failures = [OSError(errno.EIO, "injected")]

    def fdatasync(fd):
        if failures:
            raise failures.pop()  # the data was written, its sync failed: it must not be written twice
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    journal.append([{"t": "ran", "id": "a"}, {"t": "ran", "id": "b"}])
    journal.sync()
    _, records = FileJournal(str(tmp_path / "state")).load()
    assert [r["id"] for r in records] == ["a", "b"]
    assert retry.RETRIED["journal.sync"] == 1
