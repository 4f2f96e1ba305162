"""Return values framed with their length and CRC-32, so every store tells a damaged value from a good one."""

from __future__ import annotations

import struct
import zlib

_HEADER = struct.Struct(">4sQI")  # magic, length, CRC-32
_MAGIC = b"TRV1"


def frame_value(data: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, len(data), zlib.crc32(data)) + data


def unframe_value(raw: bytes) -> bytes | None:
    """The value in a frame, or None if the frame is damaged (truncated, overwritten)."""
    if len(raw) >= _HEADER.size:
        magic, length, crc = _HEADER.unpack_from(raw)
        data = raw[_HEADER.size :]
        if magic == _MAGIC and length == len(data) and crc == zlib.crc32(data):
            return data
    return None
