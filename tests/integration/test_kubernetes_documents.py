"""CWL and WDL workflows on ``--batchSystem kubernetes`` (infra/k8s-up.sh, infra/appliance.sh), the ``aws:`` store on
moto_server: the pods share no file with the leader, so the document travels in the job store and the files the
workflow is given (job order and WDL inputs, secondary files, directories, the document's own defaults and
InitialWorkDir literals) are imported by the leader. The documents and inputs are written under the test's
directory, which no pod mounts (only the --kubernetesHostPath directory beside them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kube import kube_env
from tests.objectstores import aws_locator

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

BIN = Path(sys.executable).parent

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements: {SubworkflowFeatureRequirement: {}}
inputs:
  data: {type: File, secondaryFiles: [.idx]}
  tree: Directory
  extra: {type: File, default: {class: File, location: lib/extra.txt}}
outputs:
  report: {type: File, outputSource: read/report}
  same: {type: File, outputSource: data}
  staged: {type: File, outputSource: stage/out}
  nested: {type: File, outputSource: sub/out}
steps:
  read:
    run: tools/read.cwl
    in: {data: data, tree: tree, extra: extra}
    out: [report]
  stage:
    run:
      class: CommandLineTool
      requirements:
        InitialWorkDirRequirement:
          listing: [{class: File, location: lib/iwd.txt}]
      inputs: []
      baseCommand: [cat, iwd.txt]
      stdout: out.txt
      outputs: {out: stdout}
    in: []
    out: [out]
  sub:
    run:
      class: Workflow
      inputs:
        given: {type: File, default: {class: File, location: lib/sub_default.txt}}
      outputs: {out: {type: File, outputSource: cat/out}}
      steps:
        cat:
          run:
            class: CommandLineTool
            inputs: {f: {type: File, inputBinding: {position: 1}}}
            baseCommand: cat
            stdout: sub.txt
            outputs: {out: stdout}
          in: {f: given}
          out: [out]
    in: []
    out: [out]
"""

READ_TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
requirements: {ShellCommandRequirement: {}}
inputs:
  data: {type: File, secondaryFiles: [.idx]}
  tree: Directory
  extra: File
  tool_default: {type: File, default: {class: File, location: ../lib/tool_default.txt}}
arguments:
  - valueFrom: >
      cat $(inputs.data.path) $(inputs.data.path).idx $(inputs.tree.path)/a.txt $(inputs.tree.path)/sub/b.txt
      $(inputs.extra.path) $(inputs.tool_default.path)
    shellQuote: false
stdout: report.txt
outputs: {report: stdout}
"""


@pytest.fixture
def host(tmp_path: Path) -> Path:
    path = tmp_path / "host"
    path.mkdir()
    return path


def kube_args(host: Path) -> list[str]:
    return ["--batchSystem", "kubernetes", "--kubernetesHostPath", str(host), "--logLevel", "WARNING"]


def write_inputs(tmp_path: Path) -> Path:
    """The document (two files), its own files, and the inputs, in directories no pod mounts."""
    docs = tmp_path / "docs"
    (docs / "tools").mkdir(parents=True)
    (docs / "lib").mkdir()
    (docs / "wf.cwl").write_text(WORKFLOW)
    (docs / "tools" / "read.cwl").write_text(READ_TOOL)
    for name, text in [("extra", "extra"), ("iwd", "iwd"), ("tool_default", "tool default"), ("sub_default", "sub")]:
        (docs / "lib" / f"{name}.txt").write_text(text + "\n")
    given = tmp_path / "given"
    (given / "tree" / "sub").mkdir(parents=True)
    (given / "data.txt").write_text("data\n")
    (given / "data.txt.idx").write_text("idx\n")
    (given / "tree" / "a.txt").write_text("a\n")
    (given / "tree" / "sub" / "b.txt").write_text("b\n")
    return docs


def run_cwl(tmp_path: Path, host: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "toil-cwl-runner"), "--no-container", "--quiet", "--jobStore", aws_locator()]
        + ["--outdir", str(tmp_path / "out"), *kube_args(host), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **kube_env()},
        cwd=tmp_path,
        timeout=900,
    )


def test_a_cwl_workflow_given_files_and_a_document_in_several_files(tmp_path: Path, host: Path) -> None:
    docs = write_inputs(tmp_path)
    given = tmp_path / "given"
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "data": {"class": "File", "location": str(given / "data.txt")},  # .idx found by the leader
                "tree": {"class": "Directory", "location": str(given / "tree")},
            }
        )
    )
    p = run_cwl(tmp_path, host, str(docs / "wf.cwl"), str(order))
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    assert Path(out["report"]["path"]).read_text() == "data\nidx\na\nb\nextra\ntool default\n"
    assert Path(out["same"]["path"]).read_text() == "data\n"  # an input passed through: exported from the store
    assert Path(out["same"]["path"]).parent == tmp_path / "out"
    assert [Path(f["path"]).read_text() for f in out["same"]["secondaryFiles"]] == ["idx\n"]
    assert Path(out["staged"]["path"]).read_text() == "iwd\n"
    assert Path(out["nested"]["path"]).read_text() == "sub\n"


def test_a_lone_cwl_tool_with_secondary_files_found_by_the_leader(tmp_path: Path, host: Path) -> None:
    docs = write_inputs(tmp_path)
    given = tmp_path / "given"
    p = run_cwl(
        tmp_path,
        host,
        str(docs / "tools" / "read.cwl"),
        "--data",
        str(given / "data.txt"),
        "--tree",
        str(given / "tree"),
        "--extra",
        str(docs / "lib" / "extra.txt"),
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    assert Path(out["report"]["path"]).read_text() == "data\nidx\na\nb\nextra\ntool default\n"


def test_a_wdl_workflow_given_a_directory_and_files_by_relative_paths(tmp_path: Path, host: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lib.wdl").write_text(
        "version development\n"
        "task count {\n"
        "  input { Directory d\n File f }\n"
        "  command <<< ls ~{d} | wc -l; cat ~{f} >>>\n"
        "  output { Array[String] lines = read_lines(stdout()) }\n"
        "}\n"
    )
    (docs / "main.wdl").write_text(
        'version development\nimport "lib.wdl" as lib\n'
        "workflow main {\n"
        "  input { Directory d\n File f }\n"
        "  call lib.count { input: d = d, f = f }\n"
        "  output { Array[String] lines = count.lines }\n"
        "}\n"
    )
    given = tmp_path / "given"
    (given / "d").mkdir(parents=True)
    for name in ("x", "y", "z"):
        (given / "d" / name).write_text(name)
    (given / "f.txt").write_text("hello\n")
    (given / "inputs.json").write_text(json.dumps({"main.d": "d", "main.f": "f.txt"}))
    p = subprocess.run(
        [str(BIN / "toil-wdl-runner"), "--container", "none", "--jobStore", aws_locator(), str(docs / "main.wdl")]
        + [str(given / "inputs.json"), "-o", str(tmp_path / "out"), *kube_args(host)],
        capture_output=True,
        text=True,
        env={**os.environ, **kube_env()},
        cwd=tmp_path,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout)["main.lines"] == ["3", "hello"]
