"""The journal of an object-store job store: numbered immutable segments and snapshots, written create-only.

Objects cannot be appended to, so each ``sync`` writes the records buffered
since the last one as one new object, ``journal/seg-<SEQ>``, where SEQ is
the count of records before it (12 digits, so keys sort in order); a
snapshot is ``journal/snap-<SEQ>``. Segments are written create-only (S3
``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure ``If-None-Match:
*``): a second leader that wrote the same segment number would find it
taken, so two leaders can never both extend the journal. Records are lines
in the form the file journal uses (JSON, a tab, a CRC-32), so a damaged
object is told from a good one.

After a snapshot at SEQ, the older snapshot and the segments it covers are
deleted; a load ignores any that a crash left behind.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from toil.exceptions import JobStoreCorruptError, JobStoreLockedError
from toil.runtime.jobstores.journal import Journal, Record, Snapshot, decode_line, encode_record
from toil.runtime.jobstores.object.driver import ObjectDriver

PREFIX = "journal/"
_SEGMENT = re.compile(r"^journal/seg-(\d{12})$")
_SNAPSHOT = re.compile(r"^journal/snap-(\d{12})$")


def segment_key(seq: int) -> str:
    return f"{PREFIX}seg-{seq:012d}"


def snapshot_key(seq: int) -> str:
    return f"{PREFIX}snap-{seq:012d}"


class ObjectJournal(Journal):
    """The journal as objects under ``journal/``."""

    def __init__(self, driver: ObjectDriver) -> None:
        super().__init__()
        self.driver = driver
        self._buffer: list[bytes] = []
        self._buffer_start = 0  # the seq of the first buffered record

    def load(self, repair: bool = True) -> tuple[Snapshot | None, list[Record]]:
        segments: list[int] = []
        snapshots: list[int] = []
        for info in self.driver.list(PREFIX):
            if m := _SEGMENT.match(info.key):
                segments.append(int(m.group(1)))
            elif m := _SNAPSHOT.match(info.key):
                snapshots.append(int(m.group(1)))
        snapshot = self._read_snapshot(max(snapshots)) if snapshots else None
        base = int(snapshot["seq"]) if snapshot else 0
        records = self._read_segments(sorted(s for s in segments if s >= base), base, repair)
        self.base_seq = base
        self.seq = base + len(records)
        self._buffer, self._buffer_start = [], self.seq
        return snapshot, records

    def _read_snapshot(self, seq: int) -> Snapshot:
        key = snapshot_key(seq)
        try:
            snapshot = json.loads(self.driver.get(key))
        except (ValueError, UnicodeDecodeError) as e:
            raise JobStoreCorruptError(f"{self.driver.where}/{key}: the snapshot is damaged ({e})") from None
        if not isinstance(snapshot, dict) or snapshot.get("seq") != seq or not isinstance(snapshot.get("state"), dict):
            raise JobStoreCorruptError(f"{self.driver.where}/{key}: the snapshot is not one of this journal")
        return snapshot

    def _read_segments(self, starts: list[int], base: int, repair: bool) -> list[Record]:
        records: list[Record] = []
        for i, start in enumerate(starts):
            key = segment_key(start)
            if start != base + len(records):
                raise JobStoreCorruptError(
                    f"{self.driver.where}/{key}: journal segment out of sequence (expected record "
                    f"{base + len(records)}); the job store cannot be resumed safely"
                )
            lines = self.driver.get(key).splitlines(keepends=True)
            good = [decode_line(line) for line in lines]
            damaged = [n for n, rec in enumerate(good) if rec is None]
            if damaged:
                last = i == len(starts) - 1
                if not last or damaged != [len(lines) - 1]:
                    raise JobStoreCorruptError(
                        f"{self.driver.where}/{key}: journal record {damaged[0] + 1} is damaged; "
                        f"the job store cannot be resumed safely"
                    )
                good = good[:-1]  # a torn last record: the change it recorded never took effect
                if repair:
                    self.driver.put(key, b"".join(lines[:-1]))
            records.extend(r for r in good if r is not None)
        return records

    def append(self, records: list[Record]) -> None:
        if not self._buffer:
            self._buffer_start = self.seq
        self._buffer.extend(encode_record(r) for r in records)
        self.seq += len(records)

    def sync(self) -> None:
        if not self._buffer:
            return
        key = segment_key(self._buffer_start)
        body = b"".join(self._buffer)
        # A segment found taken is ours if it holds what we wrote: a retried write whose first answer was lost.
        if not self.driver.put(key, body, create_only=True) and self.driver.get(key) != body:
            raise JobStoreLockedError(
                f"{self.driver.where}/{key} was written by another leader: this leader lost the job store's "
                f"lease and stops"
            )
        self._buffer.clear()

    def write_snapshot(self, state: Mapping[str, Any]) -> None:
        self.sync()
        seq = self.seq
        body = json.dumps({"version": 1, "seq": seq, "state": dict(state)}, separators=(",", ":"))
        self.driver.put(snapshot_key(seq), body.encode("utf-8"))
        old = [
            info.key
            for info in self.driver.list(PREFIX)
            if (m := _SEGMENT.match(info.key) or _SNAPSHOT.match(info.key)) and int(m.group(1)) < seq
        ]
        if old:
            self.driver.delete(old)
        self.base_seq = seq
