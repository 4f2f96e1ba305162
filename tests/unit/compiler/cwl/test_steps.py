"""CWL step semantics on plain values: scatter splitting and output shapes."""

import pytest

pytest.importorskip("cwltool")

from cwltool.errors import WorkflowException  # noqa: E402

from toil.compiler.cwl.steps import scatter_items  # noqa: E402


class Step:
    def __init__(self, **tool: object) -> None:
        self.tool = tool


def test_dotproduct_pairs_items_and_keeps_other_inputs() -> None:
    items, shape = scatter_items(
        Step(scatter=["#a", "#b"], scatterMethod="dotproduct"), {"#a": [1, 2], "#b": ["x", "y"], "#c": 0}
    )
    assert items == [{"#a": 1, "#b": "x", "#c": 0}, {"#a": 2, "#b": "y", "#c": 0}]
    assert shape(["r1", "r2"]) == ["r1", "r2"]


def test_dotproduct_needs_equal_lengths() -> None:
    with pytest.raises(WorkflowException):
        scatter_items(Step(scatter=["#a", "#b"], scatterMethod="dotproduct"), {"#a": [1, 2], "#b": [1]})


def test_nested_crossproduct_nests_outputs_row_major() -> None:
    items, shape = scatter_items(
        Step(scatter=["#a", "#b"], scatterMethod="nested_crossproduct"), {"#a": [1, 2], "#b": ["x", "y", "z"]}
    )
    assert [(i["#a"], i["#b"]) for i in items] == [(1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z")]
    assert shape(list(range(6))) == [[0, 1, 2], [3, 4, 5]]


def test_flat_crossproduct_and_empty_scatters() -> None:
    items, shape = scatter_items(
        Step(scatter=["#a", "#b"], scatterMethod="flat_crossproduct"), {"#a": [1, 2], "#b": [3]}
    )
    assert len(items) == 2 and shape(["p", "q"]) == ["p", "q"]
    items, shape = scatter_items(
        Step(scatter=["#a", "#b"], scatterMethod="nested_crossproduct"), {"#a": [1, 2], "#b": []}
    )
    assert items == [] and shape([]) == [[], []]
    items, shape = scatter_items(Step(scatter="#a"), {"#a": []})
    assert items == [] and shape([]) == []


def test_several_scatter_inputs_need_a_method_and_arrays() -> None:
    with pytest.raises(WorkflowException):
        scatter_items(Step(scatter=["#a", "#b"]), {"#a": [1], "#b": [2]})
    with pytest.raises(WorkflowException):
        scatter_items(Step(scatter="#a"), {"#a": 5})
