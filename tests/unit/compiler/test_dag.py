"""Sub-DAGs built from data dependencies."""

from toil.compiler.dag import SubDag, json_node, new_node_id
from toil.compiler.ir import KIND_NOOP, Resources

R = Resources(1, 1, 1)


def node(name: str):
    return json_node("cwl", name, name, R, {"op": "x"}, hint=name)


def test_consumers_follow_every_producer_and_roots_are_children() -> None:
    dag = SubDag()
    a, b = dag.add(node("a")), dag.add(node("b"))
    c = dag.add(node("c"), [a, b, "outside"])
    d = dag.add(node("d"), [c])
    record = dag.as_run("parent", 3)
    assert record.id == "parent" and record.epoch == 3
    assert sorted(record.children) == sorted([a, b])
    assert dag.specs[a].followons == [c] and dag.specs[b].followons == [c]
    assert dag.specs[c].followons == [d]
    assert {s.id for s in record.add} == {a, b, c, d}


def test_a_graph_for_the_start_has_a_noop_root() -> None:
    dag = SubDag()
    a = dag.add(node("a"))
    specs, root = dag.as_graph("wf")
    assert specs[0].id == root and specs[0].kind == KIND_NOOP and specs[0].children == [a]


def test_node_ids_are_unique_and_file_name_safe() -> None:
    ids = {new_node_id("step/with spaces#x") for _ in range(1000)}
    assert len(ids) == 1000
    assert all("/" not in i and " " not in i and "#" not in i for i in ids)
