"""The leader's journal: the interface every job store gives, and the record codec they share.

The leader makes each change of the workflow's state durable before acting
on it: it ``append``s records, ``sync``s (they are durable once that
returns), and from time to time writes a snapshot of the whole state, after
which the records before it may be dropped. A new leader ``load``s the
latest snapshot and the records after it and replays them.

Records are JSON objects (``{"t": "ran", ...}``, see runtime/scheduling.py).
``encode_record``/``decode_line`` are the one-line form with a CRC-32 that
the file store's journal and workers' results logs use.
"""

from __future__ import annotations

import abc
import json
import zlib
from typing import Any, Mapping

Record = dict[str, Any]
# A snapshot as load() returns it: {"version": 1, "seq": records it covers, "state": the state's JSON}
Snapshot = dict[str, Any]


def encode_record(record: Record) -> bytes:
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return body + b"\t" + b"%08x" % zlib.crc32(body) + b"\n"


def checked_body(line: bytes) -> bytes | None:
    """The JSON of a line whose checksum holds, or None if the line is damaged."""
    body, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or len(crc) != 8:
        return None
    try:
        return body if int(crc, 16) == zlib.crc32(body) else None
    except ValueError:
        return None


def decode_line(line: bytes) -> Record | None:
    """The record on a line, or None if the line is damaged."""
    body = checked_body(line)
    if body is None:
        return None
    try:
        rec = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) else None


class Journal(abc.ABC):
    """An append-only sequence of records with snapshots, as a job store keeps it.

    What every implementation promises:

    * records ``append``ed are durable, in order, once ``sync`` returns; a
      crash before that may lose any suffix of the unsynced ones, never a
      synced one, and never reorders them;
    * ``load`` returns the latest snapshot (or None) and every durable record
      after it, in append order; a record damaged by a crash mid-write at the
      end is dropped (``repair``: durably), damage before intact records
      raises JobStoreCorruptError;
    * ``write_snapshot`` makes the state durable as of ``seq`` (all records
      appended so far): later loads return it and only the records after it.
    """

    def __init__(self) -> None:
        self.seq = 0  # records durable or buffered so far, counting those the snapshot covers
        self.base_seq = 0  # the seq of the latest snapshot (0: none); seq - base_seq records follow it

    @abc.abstractmethod
    def load(self, repair: bool = True) -> tuple[Snapshot | None, list[Record]]:
        """The latest snapshot (or None) and the records after it; sets ``seq`` and ``base_seq``.

        The leader loads with ``repair=True`` and cuts off a torn last record.
        Readers other than the leader (``toil status``) pass ``repair=False``:
        they skip a torn tail, which may be a write still in progress, and
        change nothing.
        """

    @abc.abstractmethod
    def append(self, records: list[Record]) -> None:
        """Buffer records after those loaded or appended before; they are durable after ``sync``."""

    @abc.abstractmethod
    def sync(self) -> None:
        """Make every appended record durable (nothing to do if none is buffered)."""

    @abc.abstractmethod
    def write_snapshot(self, state: Mapping[str, Any]) -> None:
        """Sync, then persist the whole state as of ``seq``; the records it covers may be dropped."""

    def close(self) -> None:
        """Sync and let go of what the journal holds open; it may be loaded again later."""
        self.sync()
