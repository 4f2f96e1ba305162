"""Hypothesis strategies shared by the kinds: junk values, structural mutations of documents, byte mutations."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any, Callable, Iterator

import yaml
from hypothesis import strategies as st

Path_ = tuple[Any, ...]

# Strings a user (or a broken generator) could put anywhere: expressions, references, types, paths, units.
JUNK_STRINGS = [
    "",
    " ",
    "\t",
    "null",
    "~",
    "None",
    "-1",
    "0",
    "1e309",
    "NaN",
    "true",
    "yes",
    "no",
    "$(",
    "$(inputs.",
    "${",
    "${ return 1/0; }",
    "$(1/0)",
    "$(inputs.nonexistent.x)",
    "$(self[9999].y)",
    "$(runtime.cores * )",
    "~{",
    "~{missing}",
    "${missing}",
    "#",
    "#nowhere",
    "#main/nowhere",
    "file:///nonexistent/x",
    "../../../nonexistent",
    "/nonexistent/x",
    "/dev/null",
    "/etc/hostname",
    "http://127.0.0.1:9/x.cwl",
    "keep:abc",
    "s3://bucket/key",
    "x" * 5000,
    "ü€😀",
    "\u202e",
    "a\u0000b",
    "a\nb",
    "'",
    '"',
    "\\",
    "%s%n",
    "{{}}",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- -",
    "*",
    "?",
    "File",
    "Directory",
    "string[]",
    "File?",
    "int",
    "Any",
    "stdout",
    "stderr",
    "record",
    "enum",
    "array",
    "strin",
    "File[][]?",
    "v1.0",
    "v1.3",
    "draft-3",
    "2G",
    "-5G",
    "10XB",
    "1.5Ti",
    "0b",
    "inf",
    "-inf",
    "9" * 40,
    "0x10",
    "1,2",
    "a b",
]
SPECIAL_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 0.5, -0.0, 1e308]


def junk_scalar() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(JUNK_STRINGS),
        st.sampled_from(SPECIAL_NUMBERS),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=24),
    )


def junk_value() -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(JUNK_STRINGS[:60]), st.text(max_size=8))
    return st.recursive(
        junk_scalar(),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=8,
    )


def paths_of(doc: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every place in a JSON-like tree, the root first, in a stable order."""
    out = [prefix]
    if isinstance(doc, dict):
        for k in list(doc)[:200]:
            out.extend(paths_of(doc[k], prefix + (k,)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:200]):
            out.extend(paths_of(v, prefix + (i,)))
    return out


def get(doc: Any, path: Path_) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def put(doc: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    get(doc, path[:-1])[path[-1]] = value
    return doc


def delete(doc: Any, path: Path_) -> Any:
    if not path:
        return None
    parent = get(doc, path[:-1])
    del parent[path[-1]]
    return doc


def retyped(value: Any) -> list[Any]:
    """The same value as other types: what a confused user writes."""
    out: list[Any] = [[value], {"value": value}, str(value), None]
    if isinstance(value, str):
        out += [len(value), value.split(), {value: value}]
    if isinstance(value, (list, dict)):
        out += [json.dumps(value), len(value), list(value) if isinstance(value, dict) else {}]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [-value, value * 10**20, str(value) + "G"]
    return out


OPS = ("delete", "replace", "insert_key", "retype", "duplicate", "swap", "empty", "nest")


@st.composite
def mutate_tree(
    draw: st.DrawFn, doc: Any, key_pool: list[str], value_pool: list[Any], max_ops: int = 3
) -> tuple[Any, list[str]]:
    """Apply 1..max_ops structural mutations; return the new tree and what was done."""
    doc = copy.deepcopy(doc)
    notes: list[str] = []
    for _ in range(draw(st.integers(1, max_ops))):
        paths = paths_of(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(OPS))
        doc, note = _apply(draw, doc, path, op, key_pool, value_pool)
        notes.append(note)
    return doc, notes


def _value(draw: st.DrawFn, value_pool: list[Any]) -> Any:
    use_pool = bool(value_pool) and draw(st.booleans())
    if use_pool:
        return copy.deepcopy(draw(st.sampled_from(value_pool)))
    return draw(junk_value())


def _apply(
    draw: st.DrawFn, doc: Any, path: Path_, op: str, key_pool: list[str], value_pool: list[Any]
) -> tuple[Any, str]:
    where = "/".join(str(p) for p in path) or "<root>"
    target = get(doc, path)
    if op == "delete" and path:
        return delete(doc, path), f"delete {where}"
    if op == "insert_key" and isinstance(target, dict):
        key = draw(st.one_of(st.sampled_from(key_pool), st.text(max_size=10))) if key_pool else draw(st.text())
        target[key] = _value(draw, value_pool)
        return doc, f"insert {where}/{key}"
    if op == "retype":
        new = draw(st.sampled_from(retyped(target)))
        return put(doc, path, new), f"retype {where} to {type(new).__name__}"
    if op == "duplicate" and isinstance(target, list) and target:
        target.append(copy.deepcopy(target[draw(st.integers(0, len(target) - 1))]))
        return doc, f"duplicate an item of {where}"
    if op == "swap" and isinstance(target, (list, dict)) and len(target) >= 2:
        keys = list(range(len(target))) if isinstance(target, list) else list(target)
        a, b = draw(st.sampled_from(keys)), draw(st.sampled_from(keys))
        target[a], target[b] = target[b], target[a]
        return doc, f"swap {where}/{a} and {b}"
    if op == "empty":
        return put(doc, path, draw(st.sampled_from([{}, [], "", None, 0]))), f"empty {where}"
    if op == "nest":
        depth = draw(st.integers(2, 60))
        nested: Any = target
        for _ in range(depth):
            nested = [nested] if draw(st.booleans()) else {"x": nested}
        return put(doc, path, nested), f"nest {where} {depth} deep"
    return put(doc, path, _value(draw, value_pool)), f"replace {where}"


def dump(doc: Any, as_json: bool) -> bytes:
    """The tree as YAML or JSON text (what cannot be YAML becomes its repr, itself a mutation)."""
    try:
        if as_json:
            return json.dumps(doc, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, yaml.YAMLError, RecursionError):
        return repr(doc).encode("utf-8", "surrogatepass")


BYTE_OPS = ("truncate", "flip", "insert", "delete", "duplicate", "crlf", "tabs", "bom", "nul", "bad_utf8")


@st.composite
def mutate_bytes(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    """One byte-level mutation of a document."""
    op = draw(st.sampled_from(BYTE_OPS))
    n = len(data)
    at = draw(st.integers(0, n))
    if op == "truncate":
        return data[:at], f"truncate at {at}"
    if op == "flip" and n:
        i = min(at, n - 1)
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :], f"flip byte {i}"
    if op == "insert":
        junk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=16),
                st.sampled_from(
                    [
                        b"{",
                        b"}",
                        b"[",
                        b":",
                        b"\n  - ",
                        b"\t",
                        b"$(",
                        b"~{",
                        b'"',
                        b"'",
                        b"*",
                        b"&a",
                        b"!!python/object:os.system",
                        b"<<<",
                        b">>>",
                    ]
                ),
            )
        )
        return data[:at] + junk + data[at:], f"insert {junk!r} at {at}"
    if op == "delete":
        end = min(n, at + draw(st.integers(1, 64)))
        return data[:at] + data[end:], f"delete bytes {at}..{end}"
    if op == "duplicate":
        end = min(n, at + draw(st.integers(1, 64)))
        return data[:end] + data[at:end] + data[end:], f"duplicate bytes {at}..{end}"
    if op == "crlf":
        return data.replace(b"\n", b"\r\n"), "CRLF line ends"
    if op == "tabs":
        return data.replace(b"  ", b"\t"), "tabs for indentation"
    if op == "bom":
        return b"\xef\xbb\xbf" + data, "UTF-8 byte order mark"
    if op == "nul":
        return data[:at] + b"\0" + data[at:], f"NUL at {at}"
    return data[:at] + b"\xff\xfe\xc3" + data[at:], f"invalid UTF-8 at {at}"


@contextlib.contextmanager
def _no_local_constants() -> Iterator[None]:
    """Hypothesis mixes in constants found in the source of every non-library module loaded so far, so what it
    draws would depend on what this process imported before; keep that pool empty (private API, if present)."""
    try:
        from hypothesis.internal.conjecture import providers

        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE.cache
        empty = type(providers._local_constants)()
    except (ImportError, AttributeError, TypeError):
        yield
        return
    providers._get_local_constants = lambda: empty
    cache.clear()  # pools already computed with this process's local constants
    try:
        yield
    finally:
        cache.clear()
        providers._get_local_constants = original


def draw_cases(strategy: st.SearchStrategy[Any], count: int, seed: int, key: Callable[[Any], str]) -> list[Any]:
    """``count`` distinct examples of a strategy, the same ones for the same seed (hypothesis, no database)."""
    with _no_local_constants():
        return _draw_cases(strategy, count, seed, key)


def _draw_cases(strategy: st.SearchStrategy[Any], count: int, seed: int, key: Callable[[Any], str]) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seed_of

    found: dict[str, Any] = {}
    for attempt in range(20):
        if len(found) >= count:
            break
        batch: list[Any] = []

        @settings(
            max_examples=max(2 * (count - len(found)), 20),
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=False,
            print_blob=False,
        )
        @seed_of(seed * 1000 + attempt)
        @given(strategy)
        def collect(example: Any) -> None:
            batch.append(example)  # noqa: B023 (collect runs at once, in this iteration)

        collect()
        for example in batch:
            found.setdefault(key(example), example)
    return list(found.values())[:count]
