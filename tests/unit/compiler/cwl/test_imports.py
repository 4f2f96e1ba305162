"""The leader imports the files a CWL workflow is given (job order, the document's literals) for workers that cannot
read its files; a worker reads them by ID, and copies of the document's own files pass on by ID."""

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("cwltool")

from cwltool.context import LoadingContext  # noqa: E402
from cwltool.load_tool import load_tool  # noqa: E402
from cwltool.process import shortname  # noqa: E402
from cwltool.workflow import default_make_tool  # noqa: E402
from schema_salad.ref_resolver import file_uri, uri_file_path  # noqa: E402

from toil.compiler.cwl import files as cwl_files  # noqa: E402
from toil.compiler.cwl import imports, loading  # noqa: E402
from toil.compiler.cwl.files import Files  # noqa: E402
from toil.compiler.files import DIR_SCHEME, FILE_SCHEME, is_stored  # noqa: E402
from toil.compiler.sources import RECORD_KEY, Sources  # noqa: E402
from toil.runtime.jobstores.file.store import FileJobStore  # noqa: E402

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
inputs:
  given: {type: File, default: {class: File, location: lib/input_default.txt}}
outputs:
  out: {type: File, outputSource: step/out}
steps:
  step:
    in:
      a: given
      b: {default: {class: File, location: lib/step_default.txt}}
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        InitialWorkDirRequirement:
          listing: [{class: Directory, location: lib/tree}]
      inputs:
        a: File
        b: File
        c: {type: File, default: {class: File, path: lib/tool_default.txt}}
        gone: {type: File?, default: {class: File, location: lib/missing.txt}}
      baseCommand: cat
      outputs: {out: stdout}
"""


class RemoteLikeStore(FileJobStore):
    """A file job store without a local area: as a store no worker shares a file system with."""

    def local_area(self, name: str) -> None:
        return None


def make_store(tmp_path: Path) -> FileJobStore:
    js = RemoteLikeStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})
    return js


@pytest.fixture(autouse=True)
def no_document_copies():
    yield
    cwl_files._document_copies.clear()


def given_files(root: Path) -> dict:
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "data #1.txt").write_text("data\n")
    (root / "data #1.txt.idx").write_text("idx\n")
    (root / "tree" / "a.txt").write_text("a\n")
    (root / "tree" / "sub" / "b.txt").write_text("b\n")
    return {
        "data": {
            "class": "File",
            "location": file_uri(str(root / "data #1.txt")),
            "path": str(root / "data #1.txt"),
            "basename": "data #1.txt",
            "secondaryFiles": [{"class": "File", "location": file_uri(str(root / "data #1.txt.idx"))}],
        },
        "again": {"class": "File", "location": str(root / "data #1.txt")},
        "tree": {
            "class": "Directory",
            "location": file_uri(str(root / "tree")),
            "listing": [{"class": "File", "location": file_uri(str(root / "tree" / "a.txt")), "basename": "a.txt"}],
        },
        "literal": {"class": "File", "location": "_:abc", "basename": "lit.txt", "contents": "hi"},
        "url": {"class": "File", "location": "https://example.org/x.txt"},
        "words": ["a", {"n": 1}],
    }


def test_the_job_order_is_imported_and_read_back_by_id_elsewhere(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    order = given_files(tmp_path / "given")
    imported = imports.GivenFiles(js).import_value(order)
    data = imported["data"]
    assert data["location"].startswith(FILE_SCHEME) and "path" not in data and data["basename"] == "data #1.txt"
    assert data["secondaryFiles"][0]["location"].startswith(FILE_SCHEME)
    assert imported["again"]["location"] == data["location"]  # one file given twice: written once
    assert imported["tree"]["location"].startswith(DIR_SCHEME)
    assert is_stored(imported["tree"]["listing"][0]["location"])
    assert imported["literal"] == order["literal"] and imported["url"] == order["url"]
    assert imported["words"] == order["words"]
    assert order["data"]["location"].startswith("file://")  # the job order itself is left as it was

    shutil.rmtree(tmp_path / "given")  # a worker elsewhere: none of the leader's files
    local = Files(js, str(tmp_path / "work"), "node").localize(imported)
    path = uri_file_path(local["data"]["location"])
    assert Path(path).read_text() == "data\n"
    assert Path(uri_file_path(local["data"]["secondaryFiles"][0]["location"])).read_text() == "idx\n"
    assert os.path.dirname(uri_file_path(local["data"]["secondaryFiles"][0]["location"])) == os.path.dirname(path)
    tree = Path(uri_file_path(local["tree"]["location"]))
    assert (tree / "sub" / "b.txt").read_text() == "b\n"


def test_a_lone_tool_gets_the_secondary_files_cwltool_found() -> None:
    order = {"x": {"class": "File", "location": "file:///d/x"}, "y": [{"class": "File", "location": "file:///d/y"}]}
    initialised = {
        "x": {"class": "File", "location": "file:///d/x", "secondaryFiles": [{"class": "File", "location": "x.i"}]},
        "y": [{"class": "File", "location": "file:///d/y", "listing": []}],
    }
    merged = imports.with_secondary_files(order, initialised)
    assert merged["x"]["secondaryFiles"] == [{"class": "File", "location": "x.i"}]
    assert merged["y"] == order["y"] and "secondaryFiles" not in order["x"]


def write_document(root: Path) -> Path:
    (root / "lib" / "tree").mkdir(parents=True)
    (root / "wf.cwl").write_text(WORKFLOW)
    for name in ("input_default", "step_default", "tool_default"):
        (root / "lib" / f"{name}.txt").write_text(name + "\n")
    (root / "lib" / "tree" / "t.txt").write_text("t\n")
    return root / "wf.cwl"


def load(path: Path, sources: Sources):
    context = LoadingContext()
    context.construct_tool_object = default_make_tool
    context.fetcher_constructor = loading.fetcher_noting(sources)
    return load_tool(file_uri(str(path)), context)


def defaults(process) -> dict:
    """The File literals of the document as loaded: input, step and tool defaults, the InitialWorkDir one."""
    step = process.steps[0]
    tool = step.embedded_tool
    found = {"input": process.tool["inputs"][0]["default"]}
    found.update({"step " + shortname(i["id"]): i.get("default") for i in step.tool["inputs"]})
    found.update({"tool " + shortname(i["id"]): i.get("default") for i in tool.tool["inputs"]})
    req = next(r for r in tool.requirements if r["class"] == "InitialWorkDirRequirement")
    found["iwd"] = req["listing"][0]
    return found


def test_the_documents_files_are_imported_and_copied_once_into_a_worker(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    sources = Sources()
    root = load(write_document(tmp_path / "docs"), sources)
    mapping = imports.GivenFiles(js).import_document(root)
    lib = file_uri(str(tmp_path / "docs" / "lib"))
    assert set(mapping) == {lib + f"/{n}.txt" for n in ("input_default", "step_default", "tool_default")} | {
        lib + "/tree"
    }  # the missing default is left as it is
    record = {
        "uri": root.tool["id"],
        "loading": {},
        "runtime": {},
        RECORD_KEY: sources.save(js),
        imports.DOCUMENT_FILES: mapping,
    }
    shutil.rmtree(tmp_path / "docs")

    again = loading.load_again("doc-with-files", record, js)
    found = defaults(again)
    assert Path(uri_file_path(found["input"]["location"])).read_text() == "input_default\n"
    assert Path(uri_file_path(found["step b"]["location"])).read_text() == "step_default\n"
    assert Path(uri_file_path(found["tool c"]["path"])).read_text() == "tool_default\n"  # it was given as a path
    assert (Path(uri_file_path(found["iwd"]["location"])) / "t.txt").read_text() == "t\n"
    assert found["tool gone"]["location"] == lib + "/missing.txt"

    # A value naming a copy passes on its stored URI; a file in a copied directory is stored as the node's.
    files = Files(js, str(tmp_path / "work"), "node")
    stored = files.store_all({"x": dict(found["step b"]), "dir": dict(found["iwd"])})
    assert stored["x"]["location"] == mapping[lib + "/step_default.txt"]
    assert stored["dir"]["location"] == mapping[lib + "/tree"]
    inner = os.path.join(uri_file_path(found["iwd"]["location"]), "t.txt")
    assert is_stored(files.store_all({"class": "File", "location": file_uri(inner)})["location"])


def test_importing_is_for_workers_that_cannot_read_the_leaders_files() -> None:
    kube, local = SimpleNamespace(batchSystem="kubernetes"), SimpleNamespace(batchSystem="single_machine")
    assert imports.importing(SimpleNamespace(reference_inputs=False), kube)
    assert not imports.importing(SimpleNamespace(reference_inputs=True), kube)  # --reference-inputs
    assert not imports.importing(SimpleNamespace(reference_inputs=False), local)
    assert not imports.importing(SimpleNamespace(), SimpleNamespace(batchSystem="slurm"))


def test_the_runner_accepts_reference_inputs() -> None:
    from toil.cli.cwl_main import _parser

    assert _parser().parse_args(["--reference-inputs", "wf.cwl"]).reference_inputs is True
    assert _parser().parse_args(["wf.cwl"]).reference_inputs is False
