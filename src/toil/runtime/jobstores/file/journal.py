"""The ``file:`` store's journal: fsync'ed JSON lines in a directory, plus snapshots.

Each record is one line: compact JSON, a tab, and the CRC-32 of the JSON in
hex (see journal.encode_record). A record is durable once ``sync`` returns:
the line was written and fdatasync'ed. On load, a damaged *last* record (a
write torn by a crash) is cut off and the load continues from the last good
one; a damaged record followed by good ones means the file was corrupted, and
loading stops with an error naming the file and line.

A snapshot holds the whole state as of some record count ``seq``; records
after it live in ``journal-<seq>.log``. Writing a snapshot starts a new
journal file and removes the old ones.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import zlib
from typing import Any, Iterator, Mapping

from toil.exceptions import JobStoreCorruptError
from toil.runtime.jobstores.file.fsutil import atomic_write, fsync_dir
from toil.runtime.jobstores.journal import Journal, Record, Snapshot, checked_body, decode_line, encode_record

log = logging.getLogger(__name__)

_JOURNAL_NAME = re.compile(r"^journal-(\d{12})\.log$")
SNAPSHOT = "snapshot.json"


def _parse_bodies(bodies: list[bytes], path: str) -> list[Record]:
    """Checked record bodies parsed in one call (a restart reads many thousands)."""
    try:
        records = json.loads(b"[" + b",".join(bodies) + b"]")
    except (ValueError, UnicodeDecodeError):
        records = [decode_line(b + b"\t%08x" % zlib.crc32(b)) for b in bodies]
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise JobStoreCorruptError(f"{path}: record {i + 1} has an intact checksum but is not a record")
    return list(records)


class FileJournal(Journal):
    """The journal as files in a directory: ``journal-<seq>.log`` after ``snapshot.json``."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.dir = directory
        self._fd: int | None = None
        self._buffer: list[bytes] = []

    # -- reading
    def load(self, repair: bool = True) -> tuple[Snapshot | None, list[Record]]:
        if repair:
            os.makedirs(self.dir, exist_ok=True)
        snapshot = self._read_snapshot()
        base = int(snapshot["seq"]) if snapshot else 0
        path = self._journal_path(base)
        records = list(self._read_records(path, repair)) if os.path.exists(path) else []
        self.base_seq = base
        self.seq = base + len(records)
        return snapshot, records

    def _read_snapshot(self) -> Snapshot | None:
        path = os.path.join(self.dir, SNAPSHOT)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or "seq" not in data or "state" not in data:
                raise ValueError("missing fields")
        except ValueError as e:
            raise JobStoreCorruptError(
                f"{path}: the state snapshot is damaged ({e}); the job store cannot be resumed safely"
            ) from None
        return data

    def _read_records(self, path: str, repair: bool = True) -> Iterator[Record]:
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        tail_incomplete = not data.endswith(b"\n")
        good_end = 0
        offset = 0
        bad_at: int | None = None
        bodies: list[bytes] = []
        for i, line in enumerate(lines):
            is_last = i == len(lines) - 1
            if is_last and line == b"":
                break
            body = None if (is_last and tail_incomplete) else checked_body(line)
            if body is None:
                if bad_at is None:
                    bad_at = i
                offset += len(line) + 1
                continue
            if bad_at is not None:
                raise JobStoreCorruptError(
                    f"{path}: record {bad_at + 1} is damaged but later records are intact; "
                    f"the job store cannot be resumed safely"
                )
            bodies.append(body)
            offset += len(line) + 1
            good_end = offset
        out = _parse_bodies(bodies, path)
        if bad_at is not None and repair:
            log.warning(
                "Journal %s ended in a torn record (a crash mid-write); dropping it and resuming from record %d",
                path,
                len(out),
            )
            with open(path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        yield from out

    # -- writing
    def open_for_append(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        path = self._journal_path(self.base_seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync_dir(self.dir)

    def append(self, records: list[Record]) -> None:
        for rec in records:
            self._buffer.append(encode_record(rec))
        self.seq += len(records)

    def sync(self) -> None:
        if not self._buffer:
            return
        if self._fd is None:
            self.open_for_append()
        fd = self._fd
        assert fd is not None
        data = b"".join(self._buffer)
        self._buffer.clear()
        from toil.runtime import faults

        faults.maybe_crash("journal-before-write")
        if faults.armed("journal-torn-write"):
            os.write(fd, data[: max(1, len(data) // 2)])
            faults.maybe_crash("journal-torn-write")
        self._write_durably(fd, data)
        faults.maybe_crash("journal-after-fsync")

    def _write_durably(self, fd: int, data: bytes) -> None:
        """Append and fdatasync, retrying transient errors from where the journal ended before the attempt."""
        from toil.runtime import faults
        from toil.runtime.jobstores import retry

        start = os.fstat(fd).st_size
        wait = retry.first_wait()
        for attempt in range(1, retry.attempts() + 1):
            try:
                faults.maybe_fs_fault("journal.sync")
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                faults.maybe_crash("journal-before-fsync")
                os.fdatasync(fd)
                return
            except OSError as e:
                if not retry.is_transient(e) or attempt == retry.attempts():
                    raise
                retry.note_retry("journal.sync", e, attempt, wait)
                time.sleep(wait)
                wait = min(2 * wait, 30.0)
                # Pages a failed fsync reported may be dropped: cut back and write the records again.
                os.ftruncate(fd, start)

    def write_snapshot(self, state: Mapping[str, Any]) -> None:
        """Persist the whole state as of ``self.seq`` and start a new journal file (removing the old ones)."""
        self.sync()
        seq = self.seq
        atomic_write(
            os.path.join(self.dir, SNAPSHOT),
            json.dumps({"version": 1, "seq": seq, "state": dict(state)}, separators=(",", ":")).encode(),
        )
        old_fd, self._fd = self._fd, None
        self.base_seq = seq
        self.open_for_append()
        if old_fd is not None:
            os.close(old_fd)
        for name in os.listdir(self.dir):
            m = _JOURNAL_NAME.match(name)
            if m and int(m.group(1)) != seq:
                os.unlink(os.path.join(self.dir, name))

    def close(self) -> None:
        self.sync()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _journal_path(self, base: int) -> str:
        return os.path.join(self.dir, f"journal-{base:012d}.log")
