"""The file store's journal: durable records, torn tails, corruption, snapshots (the contract: jobstores/)."""

from __future__ import annotations

import os

import pytest

from toil.exceptions import JobStoreCorruptError
from toil.runtime.jobstores.file.journal import FileJournal


def _write(tmp_path, records):
    j = FileJournal(str(tmp_path))
    j.load()
    j.append(records)
    j.sync()
    j.close()
    return j


def test_records_round_trip(tmp_path):
    _write(tmp_path, [{"t": "a", "n": 1}, {"t": "b", "s": "tab\tand\nnewline"}])
    snap, recs = FileJournal(str(tmp_path)).load()
    assert snap is None
    assert recs == [{"t": "a", "n": 1}, {"t": "b", "s": "tab\tand\nnewline"}]


def test_a_torn_last_record_is_dropped_and_the_file_repaired(tmp_path):
    j = _write(tmp_path, [{"t": "a"}, {"t": "b"}])
    path = j._journal_path(0)
    with open(path, "ab") as f:
        f.write(b'{"t":"c","x":')  # a crash in the middle of a write
    snap, recs = FileJournal(str(tmp_path)).load()
    assert [r["t"] for r in recs] == ["a", "b"]
    with open(path, "rb") as f:
        assert f.read().endswith(b"\n") and b'"c"' not in f.read()
    again = FileJournal(str(tmp_path))
    again.load()
    again.append([{"t": "d"}])
    again.sync()
    assert [r["t"] for r in FileJournal(str(tmp_path)).load()[1]] == ["a", "b", "d"]


def test_a_damaged_record_before_good_ones_is_refused(tmp_path):
    j = _write(tmp_path, [{"t": "a"}, {"t": "b"}, {"t": "c"}])
    path = j._journal_path(0)
    data = bytearray(open(path, "rb").read())
    data[data.index(b'"b"') + 1] = ord("X")  # flip a byte inside record 2
    open(path, "wb").write(bytes(data))
    with pytest.raises(JobStoreCorruptError, match="record 2 is damaged"):
        FileJournal(str(tmp_path)).load()


def test_snapshot_starts_a_new_journal(tmp_path):
    j = FileJournal(str(tmp_path))
    j.load()
    j.append([{"t": "a"}, {"t": "b"}])
    j.write_snapshot({"state": 1})
    j.append([{"t": "c"}])
    j.sync()
    j.close()
    snap, recs = FileJournal(str(tmp_path)).load()
    assert snap["seq"] == 2 and snap["state"] == {"state": 1}
    assert recs == [{"t": "c"}]
    assert sorted(os.listdir(tmp_path)) == ["journal-000000000002.log", "snapshot.json"]


def test_a_damaged_snapshot_is_refused(tmp_path):
    (tmp_path / "snapshot.json").write_text("{not json")
    with pytest.raises(JobStoreCorruptError, match="snapshot is damaged"):
        FileJournal(str(tmp_path)).load()


def test_a_reader_skips_a_torn_tail_without_changing_the_file(tmp_path):
    """``toil status`` reads while the leader may be mid-write: it must not 'repair' the leader's file."""
    j = _write(tmp_path, [{"t": "a"}, {"t": "b"}])
    path = j._journal_path(0)
    with open(path, "ab") as f:
        f.write(b'{"t":"c","x":')
    size = os.path.getsize(path)
    snap, recs = FileJournal(str(tmp_path)).load(repair=False)
    assert [r["t"] for r in recs] == ["a", "b"] and os.path.getsize(path) == size
