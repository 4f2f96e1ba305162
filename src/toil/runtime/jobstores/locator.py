"""Job store locators: ``file:PATH``, a bare path, ``aws:REGION:NAME``; their kinds are in registry.py."""

from __future__ import annotations

import os

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.registry import job_store_kind, known_schemes


def parse_locator(locator: str) -> tuple[str, str]:
    """Split a locator into (kind, rest), treating a bare path as a file job store."""
    if isinstance(locator, os.PathLike):
        locator = os.fspath(locator)
    if not isinstance(locator, str):
        raise ToilUserError(f"a job store locator is a string (a path or file:PATH), got {type(locator).__name__}")
    if not locator.strip():
        raise ToilUserError("no job store given: pass a path or file:PATH")
    if "\x00" in locator:
        raise ToilUserError(f"job store locator {locator!r} contains a NUL character")
    if locator[0] in "/." or ":" not in locator:
        return "file", locator
    kind, _, rest = locator.partition(":")
    if kind not in known_schemes():
        # 'C:\\x' style paths do not occur here; anything else with a colon is a typo
        raise ToilUserError(
            f"unknown job store type {kind!r} in {locator!r}: use file:PATH, a bare path, or aws:REGION:NAME"
        )
    if not rest:
        raise ToilUserError(f"job store locator {locator!r} names no location")
    if kind == "file" and rest.startswith("//") and not rest.startswith("///"):
        # file://NAME/x would be the directory /NAME/x at the root of this machine's file system
        raise ToilUserError(
            f"job store locator {locator!r}: file://HOST/PATH names another machine; use "
            f"file:PATH (relative or absolute) or file:///ABSOLUTE/PATH"
        )
    return kind, rest


def build_locator(kind: str, rest: str) -> str:
    return f"{kind}:{rest}"


def normalize_locator(locator: str) -> str:
    """The locator as workers in another directory must see it (file paths made absolute)."""
    kind, rest = parse_locator(locator)
    normalize = job_store_kind(kind).normalize
    return build_locator(kind, normalize(rest) if normalize else rest)
