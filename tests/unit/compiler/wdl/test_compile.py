"""Expanding WDL workflow bodies into IR nodes (compile.py), on a real file job store."""

from __future__ import annotations

import textwrap

import pytest

from toil.compiler import values as refs
from toil.compiler.ir import Resources
from toil.compiler.wdl import document
from toil.compiler.wdl.compile import Expander
from toil.compiler.wdl.evaluate import Evaluator
from toil.compiler.wdl.files import FILE_SCHEME, Store
from toil.runtime.jobstores.file.store import FileJobStore

GIB = 1 << 30
TASK = """
task t {
  input { Int x  Int y = 0 }
  command <<< echo ~{x} >>>
  output { Int out = read_int(stdout()) }
  runtime { cpu: 2  memory: "1 GiB"  disks: "local-disk 3 SSD"  maxRetries: 4 }
}
"""


@pytest.fixture
def expand(tmp_path):
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})

    def run(source: str, inputs: dict | None = None) -> tuple[Expander, dict]:
        path = tmp_path / f"wf{len(list(tmp_path.glob('*.wdl')))}.wdl"
        path.write_text(textwrap.dedent(source) + TASK)
        doc = document.load(str(path))
        ev = Evaluator(doc.workflow.effective_wdl_version, Store(js), str(tmp_path / "eval"), "test")
        exp = Expander(str(path), doc.workflow, ev, Resources(1.0, GIB, GIB))
        outputs = exp.workflow_body(dict(inputs or {}))
        exp.dag.roots()  # links the data dependencies as follow-on edges
        return exp, outputs

    return run


def kinds(exp: Expander) -> list[str]:
    return [s.extra["op"] for s in exp.dag.specs.values()]


def test_scatter_over_a_known_array_adds_one_task_node_per_item(expand):
    exp, outputs = expand("""
        version 1.0
        workflow w {
          input { Int n = 3 }
          scatter (i in range(n)) { call t { input: x = i } }
          output { Array[Int] outs = t.out }
        }""")
    tasks = [s for s in exp.dag.specs.values() if s.extra["op"] == "task"]
    assert len(tasks) == 3
    assert [s.extra["inputs"]["x"] for s in tasks] == [0, 1, 2]
    assert all(s.resources == Resources(2.0, GIB, 3 * GIB) and s.retries == 4 for s in tasks)
    out_node = next(s for s in exp.dag.specs.values() if s.extra["op"] == "decls")
    assert all(out_node.id in s.followons for s in tasks)  # the outputs wait for every task
    assert outputs["outs"] == refs.ref(out_node.id, "outs")
    assert out_node.extra["env"]["t.out"] == [refs.ref(s.id, "out") for s in tasks]


def test_scatter_over_a_call_output_is_deferred_after_the_call(expand):
    exp, _ = expand("""
        version 1.0
        workflow w {
          call t as first { input: x = 2 }
          scatter (i in range(first.out)) { call t { input: x = i } }
        }""")
    assert sorted(kinds(exp)) == ["section", "task"]
    first = next(s for s in exp.dag.specs.values() if s.extra["op"] == "task")
    section = next(s for s in exp.dag.specs.values() if s.extra["op"] == "section")
    assert section.id in first.followons
    assert section.extra["env"] == {"first.out": refs.ref(first.id, "out")}


def test_false_condition_binds_nulls_and_adds_nothing(expand):
    exp, outputs = expand("""
        version 1.0
        workflow w {
          if (1 > 2) { call t { input: x = 1 } }
          output { Int? o = t.out }
        }""")
    assert kinds(exp) == []
    assert outputs == {"o": None}


def test_after_orders_calls_without_data(expand):
    exp, _ = expand("""
        version 1.1
        workflow w {
          call t as a { input: x = 1 }
          call t as b after a { input: x = 2 }
        }""")
    a, b = exp.dag.specs.values()
    assert a.display == "w.a" and b.display == "w.b"
    assert b.id in a.followons and exp.dag.roots() == [a.id]


def test_declarations_are_evaluated_here_and_written_files_stored(expand):
    exp, outputs = expand(
        """
        version 1.0
        workflow w {
          input { Array[String] words }
          File listed = write_lines(words)
          Int n = length(read_lines(listed))
          output { Int count = n  File f = listed }
        }""",
        {"words": ["a", "b", "c"]},
    )
    assert kinds(exp) == []
    assert outputs["count"] == 3
    assert outputs["f"]["wdl:file"].startswith(FILE_SCHEME)


def test_call_reading_a_pending_value_waits_in_a_call_node(expand):
    exp, _ = expand("""
        version 1.0
        workflow w {
          call t as a { input: x = 1 }
          call t as b { input: x = a.out + 1 }
        }""")
    a = next(s for s in exp.dag.specs.values() if s.extra["op"] == "task")
    b = next(s for s in exp.dag.specs.values() if s.extra["op"] == "call")
    assert b.id in a.followons and b.extra["node"] == "call-b"
