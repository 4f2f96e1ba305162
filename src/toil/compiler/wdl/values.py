"""miniwdl values to JSON and back, for node payloads and return values.

The JSON is self-describing, so a consumer needs no static types to read it:
File and Directory, Map, Pair and struct values are tagged (one-key objects
whose keys cannot clash with the ``$ref`` of ``toil.compiler.values``).
Consumers coerce to the declared type where one applies (declarations, call
inputs, outputs), as miniwdl does. Empty arrays decode as ``Array[Any]``,
which coerces to any array type.

Files live in the job store between nodes; their value is a ``toilfile:``
URI (see ``files.py``), any other string is a path or URL as the user gave it.
"""

from __future__ import annotations

from typing import Any, Callable

import WDL
from WDL import Type, Value

FILE, DIRECTORY, MAP, PAIR, STRUCT = "wdl:file", "wdl:dir", "wdl:map", "wdl:pair", "wdl:struct"

# fn(tag, value) of map_files: tag is FILE or DIRECTORY, value the path or URI; the new value, or None for null.
FileMapper = Callable[[str, str], str | None]


def encode(v: Value.Base) -> Any:
    """The JSON form of a miniwdl value."""
    if isinstance(v, Value.Null):
        return None
    if isinstance(v, Value.File):
        return {FILE: v.value}
    if isinstance(v, Value.Directory):
        return {DIRECTORY: v.value}
    if isinstance(v, (Value.Boolean, Value.Int, Value.String)):
        return v.value
    if isinstance(v, Value.Float):
        return float(v.value)
    if isinstance(v, Value.Array):
        return [encode(x) for x in v.value]
    if isinstance(v, Value.Map):
        return {MAP: [[encode(k), encode(x)] for k, x in v.value]}
    if isinstance(v, Value.Pair):
        return {PAIR: [encode(v.value[0]), encode(v.value[1])]}
    if isinstance(v, Value.Struct):
        return {STRUCT: {k: encode(x) for k, x in v.value.items()}}
    raise TypeError(f"cannot store a WDL value of type {v.type}")


def decode(data: Any) -> Value.Base:
    """The miniwdl value of a JSON form (references must be resolved first)."""
    if data is None:
        return Value.Null()
    if isinstance(data, bool):
        return Value.Boolean(data)
    if isinstance(data, int):
        return Value.Int(data)
    if isinstance(data, float):
        return Value.Float(data)
    if isinstance(data, str):
        return Value.String(data)
    if isinstance(data, list):
        items = [decode(x) for x in data]
        return Value.Array(_unify([x.type for x in items]), items)
    if isinstance(data, dict) and len(data) == 1:
        tag, body = next(iter(data.items()))
        if tag == FILE:
            return Value.File(body)
        if tag == DIRECTORY:
            return Value.Directory(body)
        if tag == MAP:
            pairs = [(decode(k), decode(x)) for k, x in body]
            return Value.Map((_unify([k.type for k, _ in pairs]), _unify([x.type for _, x in pairs])), pairs)
        if tag == PAIR:
            left, right = decode(body[0]), decode(body[1])
            return Value.Pair(left.type, right.type, (left, right))
        if tag == STRUCT:
            members = {k: decode(x) for k, x in body.items()}
            return Value.Struct(Type.Object({k: x.type for k, x in members.items()}), members)
    raise ValueError(f"not a stored WDL value: {str(data)[:200]}")


def _unify(types: list[Type.Base]) -> Type.Base:
    if not types:
        return Type.Any()
    return Type.unify(types, check_quant=False)


def encode_env(env: WDL.Env.Bindings[Value.Base]) -> dict[str, Any]:
    """Bindings as a JSON object keyed by (dotted) name."""
    return {b.name: encode(b.value) for b in env}


def decode_env(data: dict[str, Any]) -> WDL.Env.Bindings[Value.Base]:
    env: WDL.Env.Bindings[Value.Base] = WDL.Env.Bindings()
    for name, v in data.items():
        env = env.bind(name, decode(v))
    return env


def map_files(data: Any, fn: FileMapper) -> Any:
    """The JSON form with every File/Directory string replaced by ``fn(tag, value)`` (None: null)."""
    if isinstance(data, list):
        return [map_files(x, fn) for x in data]
    if isinstance(data, dict):
        if len(data) == 1:
            tag, body = next(iter(data.items()))
            if tag in (FILE, DIRECTORY):
                new = fn(tag, body)
                return None if new is None else {tag: new}
            if tag == MAP:
                return {MAP: [[map_files(k, fn), map_files(x, fn)] for k, x in body]}
            if tag == PAIR:
                return {PAIR: [map_files(body[0], fn), map_files(body[1], fn)]}
            if tag == STRUCT:
                return {STRUCT: {k: map_files(x, fn) for k, x in body.items()}}
        return {k: map_files(x, fn) for k, x in data.items()}
    return data
