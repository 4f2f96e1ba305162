"""Stored JSON forms of miniwdl values: round trips, types recovered, files rewritten."""

from __future__ import annotations

import json

import pytest
from WDL import Type, Value

from toil.compiler import values as refs
from toil.compiler.wdl import values as wv


def roundtrip(v: Value.Base) -> Value.Base:
    return wv.decode(json.loads(json.dumps(wv.encode(v))))


@pytest.mark.parametrize(
    "ty,data",
    [
        (Type.Int(), 3),
        (Type.Float(), 2.0),
        (Type.Boolean(), False),
        (Type.String(), "x y"),
        (Type.Array(Type.Int()), [1, 2, 3]),
        (Type.Map((Type.Int(), Type.Array(Type.String()))), {"1": ["a"], "3": []}),
        (Type.Pair(Type.Int(), Type.String()), {"left": 1, "right": "r"}),
        (Type.Array(Type.Pair(Type.Int(), Type.Int())), [{"left": 2, "right": 4}]),
        (Type.Int(optional=True), None),
    ],
)
def test_roundtrip_keeps_values_and_coerces_back(ty, data):
    v = Value.from_json(ty, data)
    back = roundtrip(v).coerce(ty)
    assert back.json == v.json
    assert type(back) is type(v)


def test_float_stays_float_and_int_stays_int():
    assert isinstance(roundtrip(Value.Float(1.0)), Value.Float)
    assert isinstance(roundtrip(Value.Int(1)), Value.Int)


def test_map_keys_keep_their_type():
    v = Value.from_json(Type.Map((Type.Int(), Type.Int())), {"1": 2})
    back = roundtrip(v)
    assert isinstance(back.value[0][0], Value.Int)


def test_files_are_tagged_and_can_be_rewritten():
    v = Value.Array(Type.File(), [Value.File("/a/b.txt"), Value.File("/c/d.txt")])
    data = wv.encode(v)
    assert data == [{wv.FILE: "/a/b.txt"}, {wv.FILE: "/c/d.txt"}]
    moved = wv.map_files(data, lambda tag, path: "toilfile:g/" + path.rsplit("/", 1)[1])
    back = wv.decode(moved)
    assert [f.value for f in back.value] == ["toilfile:g/b.txt", "toilfile:g/d.txt"]
    assert all(isinstance(f, Value.File) for f in back.value)
    assert wv.decode(wv.map_files(data, lambda tag, path: None)).json == [None, None]


def test_struct_coerces_to_its_declared_type():
    struct = Type.StructInstance("S")
    struct.members = {"a": Type.Int(), "f": Type.File(optional=True)}
    v = Value.Struct(Type.Object({"a": Type.Int(), "f": Type.File()}), {"a": Value.Int(1), "f": Value.File("x")})
    back = roundtrip(v).coerce(struct)
    assert back.json == {"a": 1, "f": "x"}


def test_tags_never_look_like_references():
    data = wv.encode(Value.File("x"))
    assert not refs.is_ref(data)
    assert list(refs.iter_refs([data, refs.ref("n1", "out")])) == ["n1"]


def test_empty_array_coerces_to_any_array_type():
    back = roundtrip(Value.Array(Type.File(), []))
    assert back.coerce(Type.Array(Type.File())).json == []
