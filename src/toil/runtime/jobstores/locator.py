"""Job store locators: ``file:PATH``, a bare path, ``aws:REGION:NAME``."""
from __future__ import annotations

import os

from toil.exceptions import ToilUserError

KNOWN_KINDS = ("file", "aws", "google")


def parse_locator(locator: str) -> tuple[str, str]:
    """Split a locator into (kind, rest), treating a bare path as a file job store."""
    if not locator or not str(locator).strip():
        raise ToilUserError("no job store given: pass a path or file:PATH")
    locator = str(locator)
    if locator[0] in "/." or ":" not in locator:
        return "file", locator
    kind, _, rest = locator.partition(":")
    if kind not in KNOWN_KINDS:
        # 'C:\\x' style paths do not occur here; anything else with a colon is a typo
        raise ToilUserError(f"unknown job store type {kind!r} in {locator!r}: use file:PATH, a bare path, "
                            f"or aws:REGION:NAME")
    if not rest:
        raise ToilUserError(f"job store locator {locator!r} names no location")
    return kind, rest


def build_locator(kind: str, rest: str) -> str:
    return f"{kind}:{rest}"


def normalize_locator(locator: str) -> str:
    """Make file locators absolute (workers may run in another directory)."""
    kind, rest = parse_locator(locator)
    if kind == "file":
        return build_locator("file", os.path.abspath(os.path.expanduser(rest)))
    return build_locator(kind, rest)
