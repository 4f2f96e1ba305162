"""JSON return values with references between nodes."""

import json

import pytest

from toil.compiler.values import ReturnReader, dumps, iter_refs, ref


def reader(returns: dict[str, object]) -> ReturnReader:
    return ReturnReader(lambda node_id: dumps(returns[node_id]))


def test_references_resolve_recursively_through_other_returns() -> None:
    returns = {
        "scatter": {"out": [ref("a", "x"), ref("b", "x"), None]},
        "a": {"x": 1},
        "b": ref("inner"),
        "inner": {"x": [2, 3]},
    }
    assert reader(returns).resolve(ref("scatter", "out")) == [1, [2, 3], None]


def test_a_whole_return_and_nested_containers() -> None:
    returns = {"n": {"k": "v"}}
    assert reader(returns).resolve({"a": [ref("n")], "b": {"c": ref("n", "k")}}) == {"a": [{"k": "v"}], "b": {"c": "v"}}


def test_each_return_is_read_once() -> None:
    reads: list[str] = []

    def read(node_id: str) -> bytes:
        reads.append(node_id)
        return json.dumps({"x": 1}).encode()

    r = ReturnReader(read)
    assert r.resolve([ref("n", "x")] * 5) == [1] * 5
    assert reads == ["n"]


def test_a_missing_key_is_null_and_a_non_object_is_an_error() -> None:
    assert reader({"n": {"x": 1}}).resolve(ref("n", "y")) is None
    with pytest.raises(KeyError):
        reader({"n": [1, 2]}).resolve(ref("n", "x"))


def test_iter_refs_finds_every_producer() -> None:
    value = {"a": ref("p1", "x"), "b": [1, {"c": ref("p2")}], "d": {"$ref": ["p3", None], "extra": 1}}
    assert sorted(iter_refs(value)) == ["p1", "p2"]
