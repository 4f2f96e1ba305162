"""CWL documents compiled onto the IR: step nodes, data edges, resources from requirements."""

import textwrap

import pytest

pytest.importorskip("cwltool")

from cwltool.context import LoadingContext  # noqa: E402
from cwltool.load_tool import load_tool  # noqa: E402
from cwltool.workflow import default_make_tool  # noqa: E402

from toil.compiler.cwl.compile import LIGHT, compile_workflow, has_dynamic_resources, resources_of  # noqa: E402
from toil.compiler.values import iter_refs  # noqa: E402
from toil.runtime.config import Config  # noqa: E402

MIB = 1024 * 1024
CONFIG = Config()
CONFIG.maxCores = 8


def load(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_tool(str(path), LoadingContext({"construct_tool_object": default_make_tool}))


TOOL = """\
    cwlVersion: v1.2
    class: CommandLineTool
    baseCommand: echo
    requirements:
      ResourceRequirement: {coresMin: 2, ramMin: 300, tmpdirMin: 10, outdirMin: 20}
    hints:
      http://arvados.org/cwl#UsePreemptible: {usePreemptible: true}
    $namespaces: {arv: "http://arvados.org/cwl#"}
    inputs: {x: string}
    outputs: {}
"""


def test_resource_requirement_and_preemptible_hint_reach_the_ir(tmp_path) -> None:
    res = resources_of(load(tmp_path, "t.cwl", TOOL), CONFIG)
    assert (res.cores, res.memory, res.disk, res.preemptible) == (2.0, 300 * MIB, 30 * MIB, True)


def test_defaults_cuda_and_clamping(tmp_path) -> None:
    tool = load(
        tmp_path,
        "d.cwl",
        """\
        cwlVersion: v1.2
        class: CommandLineTool
        $namespaces: {cwltool: "http://commonwl.org/cwltool#"}
        requirements:
          ResourceRequirement: {coresMin: 64}
        hints:
          cwltool:CUDARequirement: {cudaVersionMin: "11.0", cudaComputeCapability: "3.0", cudaDeviceCountMin: 2}
        baseCommand: echo
        inputs: {}
        outputs: {}
    """,
    )
    res = resources_of(tool, CONFIG)
    assert res.cores == 8.0  # clamped to --maxCores
    assert res.memory == 256 * MIB and res.disk == 2048 * MIB  # cwltool's defaults
    assert res.accelerator_count == 2 and res.accelerator_list[0]["kind"] == "gpu"
    preemptible = Config()
    preemptible.maxCores, preemptible.defaultPreemptible = 8, True
    assert resources_of(tool, preemptible).preemptible


def test_expressions_in_resources_are_dynamic(tmp_path) -> None:
    tool = load(
        tmp_path,
        "e.cwl",
        TOOL.replace("coresMin: 2", "coresMin: $(inputs.x.length)").replace(
            "requirements:", "requirements:\n      InlineJavascriptRequirement: {}"
        ),
    )
    assert has_dynamic_resources(tool)
    assert not has_dynamic_resources(load(tmp_path, "t.cwl", TOOL))


def test_a_workflow_becomes_steps_linked_by_their_data(tmp_path) -> None:
    load(tmp_path, "t.cwl", TOOL)
    wf = load(
        tmp_path,
        "wf.cwl",
        """\
        cwlVersion: v1.2
        class: Workflow
        requirements: {ScatterFeatureRequirement: {}}
        inputs: {a: string, many: "string[]"}
        outputs:
          o: {type: string, outputSource: a}
        steps:
          first: {run: t.cwl, in: {x: a}, out: []}
          fan: {run: t.cwl, scatter: x, in: {x: many}, out: []}
    """,
    )
    dag, output = compile_workflow("main", [], wf, {"a": "hello", "many": ["p", "q"]}, CONFIG)
    specs = list(dag.specs.values())
    by_name = {s.display: s for s in specs}
    first, fan, outputs = by_name["first"], by_name["fan"], specs[-1]
    assert first.extra["op"] == "step" and first.extra["inline"] and first.resources.cores == 2.0
    assert list(first.extra["env"].values()) == ["hello"] and first.extra["path"] == ["first"]
    assert not fan.extra["inline"] and fan.resources == LIGHT  # a scatter expands when it runs
    assert outputs.extra["op"] == "outputs" and list(iter_refs(output)) == [outputs.id]
    assert sorted(dag.roots()) == sorted(s.id for s in specs)  # nobody reads another step's output


def test_a_consumer_follows_its_producer(tmp_path) -> None:
    load(
        tmp_path,
        "cat.cwl",
        """\
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: cat
        inputs: {f: File?}
        stdout: o.txt
        outputs: {out: stdout}
    """,
    )
    wf = load(
        tmp_path,
        "chain.cwl",
        """\
        cwlVersion: v1.2
        class: Workflow
        inputs: {}
        outputs:
          final: {type: File, outputSource: two/out}
        steps:
          one: {run: cat.cwl, in: {}, out: [out]}
          two: {run: cat.cwl, in: {f: one/out}, out: [out]}
    """,
    )
    dag, _ = compile_workflow("main", [], wf, {}, CONFIG)
    by_name = {s.display: s for s in dag.specs.values()}
    one, two, outputs = by_name["one"], by_name["two"], list(dag.specs.values())[-1]
    assert dag.roots() == [one.id]
    assert one.followons == [two.id] and two.followons == [outputs.id]
    assert list(iter_refs(two.extra["env"])) == [one.id]
