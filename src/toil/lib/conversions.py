"""Sizes written for people ('2G', '100Mi') to bytes and back, with Toil's unit rules.

Decimal units (k, M, G, ...) are powers of 1000; binary units (Ki, Mi, Gi, ...)
are powers of 1024; a bare number is bytes.
"""

from __future__ import annotations

import math
import re
from typing import SupportsInt

_BINARY = {"ki": 1, "mi": 2, "gi": 3, "ti": 4, "pi": 5, "ei": 6}
_DECIMAL = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def bytes_in_unit(unit: str = "B") -> int:
    """How many bytes one of ``unit`` holds ('Gi' -> 2**30, 'G' -> 10**9)."""
    u = unit.lower()
    if u in ("", "b"):
        return 1
    if u.endswith("ib"):
        u = u[:-1]
    elif u.endswith("b") and len(u) == 2:
        u = u[:-1]
    if u in _BINARY:
        return 1 << (10 * _BINARY[u])
    if u in _DECIMAL:
        return 1000 ** _DECIMAL[u]
    raise ValueError(
        f"unknown size unit {unit!r}; use B, K, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024)"
    )


def human2bytes(string: str | int | float) -> int:
    """Parse '2G', '100 Mi', '1.5Gi' or '1024' into a number of bytes."""
    if isinstance(string, bool):
        raise ValueError(f"not a size: {string!r}")
    if isinstance(string, (int, float)):
        if not math.isfinite(string):
            raise ValueError(f"not a size: {string!r}")
        return int(string)
    m = _SIZE.match(str(string))
    if not m:
        raise ValueError(f"not a size: {string!r} (expected a number with an optional unit such as 2G or 512Mi)")
    number = float(m.group(1)) * bytes_in_unit(m.group(2))
    if not math.isfinite(number):
        raise ValueError(f"not a size: {string!r} (too large)")
    return int(number)


def bytes2human(n: SupportsInt) -> str:
    """Render a byte count with a binary unit, e.g. 2147483648 -> '2.0 Gi'."""
    n = int(n)
    if n < 0:
        raise ValueError("n < 0")
    if n == 0:
        return "0.0 b"
    level = min(int(math.floor(math.log(n, 1024))), 6)
    unit = ("b", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")[level]
    return f"{n / (1 << (10 * level)):.1f} {unit}"


def convert_units(num: float, src_unit: str, dst_unit: str = "B") -> float:
    """Convert ``num`` from one size unit to another."""
    return num * bytes_in_unit(src_unit) / bytes_in_unit(dst_unit)


_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


def strtobool(val: str | bool) -> bool:
    """Parse a yes/no word the way Toil's options do."""
    if isinstance(val, bool):
        return val
    v = str(val).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"not a boolean: {val!r} (use true or false)")


def opt_strtobool(val: str | None) -> bool | None:
    """Like strtobool, but None stays None."""
    return None if val is None else strtobool(val)
