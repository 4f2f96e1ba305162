"""Streaming writes in parts, shared by the drivers: bytes go out as each part fills, never staged in a file."""

from __future__ import annotations

import abc
import io
from contextlib import contextmanager
from typing import IO, Any, Iterator

from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver
from toil.runtime.jobstores.object.retry import call_retrying


class StreamWriter(io.RawIOBase):
    """A writable stream that becomes one object when ``finish``ed, and none of it when ``abort``ed."""

    def writable(self) -> bool:
        return True

    @abc.abstractmethod
    def finish(self) -> None:
        """Make the object from everything written."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop what was sent: no object is made."""


class PartWriter(StreamWriter):
    """Bytes written are sent as numbered parts of ``part_size`` as each fills; an object smaller than one part is
    one put. Subclasses send a part, complete the object from the parts sent, and cancel."""

    def __init__(self, driver: ObjectDriver, key: str, metadata: Metadata | None, part_size: int) -> None:
        self.driver, self.key, self.metadata, self.part_size = driver, key, dict(metadata or {}), part_size
        self.buffer = bytearray()
        self.parts_sent = 0

    def write(self, data: Any) -> int:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            self._send(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]
        return len(data)

    def _send(self, chunk: bytes) -> None:
        self.send_part(chunk, self.parts_sent + 1)
        self.parts_sent += 1

    def finish(self) -> None:
        d = self.driver
        if not self.parts_sent:
            call_retrying(d, "put", lambda: d.put(self.key, bytes(self.buffer), metadata=self.metadata))
            return
        if self.buffer:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        self.complete()

    def abort(self) -> None:
        if self.parts_sent:
            self.cancel()

    @abc.abstractmethod
    def send_part(self, chunk: bytes, number: int) -> None:
        """Send part ``number`` (from 1), retried by the store's policy."""

    @abc.abstractmethod
    def complete(self) -> None:
        """Make the object from the parts sent, in order."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Drop the parts sent (best effort: parts left over expire by the service's rules)."""


@contextmanager
def streamed(writer: StreamWriter) -> Iterator[IO[bytes]]:
    """The body of every driver's ``open_write``: the object is made only if the block ends without error."""
    try:
        yield writer  # type: ignore[misc]
    except BaseException:
        writer.abort()
        raise
    writer.finish()
