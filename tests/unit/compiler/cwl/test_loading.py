"""A worker loads the CWL document from the sources the leader's load noted and shipped in the job store, with
none of the leader's files: the same URIs, the same processes by step path."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("cwltool")

from cwltool.context import LoadingContext  # noqa: E402
from cwltool.load_tool import load_tool  # noqa: E402
from cwltool.workflow import default_make_tool  # noqa: E402
from schema_salad.ref_resolver import file_uri  # noqa: E402

from toil.compiler.cwl import loading  # noqa: E402
from toil.compiler.sources import RECORD_KEY, Sources  # noqa: E402
from toil.exceptions import ToilUserError  # noqa: E402
from toil.runtime.jobstores.file.store import FileJobStore  # noqa: E402

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements:
  SchemaDefRequirement: {types: [{$import: types.yml}]}
inputs:
  pick: types.yml#Pick
outputs:
  out: {type: File, outputSource: shout/out}
steps:
  shout:
    run: tools/shout.cwl
    in: {word: pick}
    out: [out]
"""

TYPES = """\
- name: Pick
  type: enum
  symbols: [a, b]
"""

SHOUT = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  SchemaDefRequirement: {types: [{$import: ../types.yml}]}
  InitialWorkDirRequirement:
    listing: [{entryname: shout.sh, entry: {$include: shout.sh}}]
inputs: {word: ../types.yml#Pick}
baseCommand: [sh, shout.sh]
arguments: [$(inputs.word)]
stdout: out.txt
outputs: {out: stdout}
"""


def write_documents(root: Path) -> Path:
    (root / "tools").mkdir(parents=True)
    (root / "wf.cwl").write_text(WORKFLOW)
    (root / "types.yml").write_text(TYPES)
    (root / "tools" / "shout.cwl").write_text(SHOUT)
    (root / "tools" / "shout.sh").write_text("echo $1 | tr a-z A-Z\n")
    return root / "wf.cwl"


def make_store(tmp_path: Path) -> FileJobStore:
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})
    return js


def leader_load(path: Path, sources: Sources):
    context = LoadingContext()
    context.construct_tool_object = default_make_tool
    context.fetcher_constructor = loading.fetcher_noting(sources)
    return load_tool(file_uri(str(path)), context)


def iwd_entry(process) -> str:
    req = next(r for r in process.requirements if r["class"] == "InitialWorkDirRequirement")
    return str(req["listing"][0]["entry"])


def test_the_leaders_load_notes_every_source_it_read(tmp_path: Path) -> None:
    sources = Sources()
    leader_load(write_documents(tmp_path / "docs"), sources)
    base = file_uri(str(tmp_path / "docs"))
    assert {base + "/wf.cwl", base + "/types.yml", base + "/tools/shout.cwl", base + "/tools/shout.sh"} <= set(
        sources.texts
    )
    assert sources.text(base + "/tools/shout.sh") == "echo $1 | tr a-z A-Z\n"


def test_a_worker_loads_the_shipped_document_without_the_leaders_files(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    sources = Sources()
    path = write_documents(tmp_path / "docs")
    root = leader_load(path, sources)
    record = {"uri": root.tool["id"], "loading": {}, "runtime": {}, RECORD_KEY: sources.save(js)}
    shutil.rmtree(tmp_path / "docs")  # the worker has none of the leader's files

    again = loading.load_again("shipped-doc", record, js)
    assert again.tool["id"] == root.tool["id"]
    tool = loading.process_at("shipped-doc", ["shout"])
    assert tool.tool["id"] == root.steps[0].embedded_tool.tool["id"]
    assert iwd_entry(tool) == "echo $1 | tr a-z A-Z\n"  # an $include, served from the copy
    assert [i["type"] for i in again.tool["inputs"]] == [i["type"] for i in root.tool["inputs"]]


def test_without_shipped_sources_a_worker_reads_the_files(tmp_path: Path) -> None:
    """A record of a run that shipped no sources (or a worker given no job store): the document's own path."""
    path = write_documents(tmp_path / "docs")
    again = loading.load_again("path-doc", {"uri": file_uri(str(path)), "loading": {}, "runtime": {}})
    assert loading.process_at("path-doc", ["shout"]).tool["class"] == "CommandLineTool"
    shutil.rmtree(tmp_path / "docs")
    with pytest.raises(Exception, match="No such file|not found|Errno 2"):
        loading.load_again("gone-doc", {"uri": again.tool["id"], "loading": {}, "runtime": {}})


def test_a_worker_with_no_record_says_so() -> None:
    with pytest.raises(ToilUserError, match="no record"):
        loading.load_again("nothing", None)


def test_the_serving_fetcher_answers_existence_as_the_leader_found_it(tmp_path: Path) -> None:
    sources = Sources({"file:///gone/a.cwl": "x"})
    sources.note_fact(loading.EXISTS + "file:///gone/b.txt", True)
    sources.note_fact(loading.EXISTS + "file:///gone/c.txt", False)
    fetcher = loading.fetcher_serving(sources)({}, None)
    assert fetcher.fetch_text("file:///gone/a.cwl") == "x"
    assert fetcher.check_exists("file:///gone/a.cwl") and fetcher.check_exists("file:///gone/b.txt")
    assert not fetcher.check_exists("file:///gone/c.txt")
    (tmp_path / "here.txt").write_text("here")
    assert fetcher.check_exists(file_uri(str(tmp_path / "here.txt")))  # not asked by the leader: looked up here
    assert fetcher.fetch_text(file_uri(str(tmp_path / "here.txt"))) == "here"


def test_the_shipped_sources_leave_out_the_job_order(tmp_path: Path) -> None:
    loading._leader_sources.note("file:///a/wf.cwl", "doc")
    loading._leader_sources.note("file:///a/inputs.yml", "secret: 1")
    try:
        kept = loading.leader_sources(["file:///a/inputs.yml"])
        assert "file:///a/wf.cwl" in kept and "file:///a/inputs.yml" not in kept
    finally:
        loading._leader_sources.texts.clear()


def test_the_leaders_loading_context_notes_through_its_fetcher() -> None:
    args = SimpleNamespace(enable_dev=False, singularity=False, podman=True, do_validate=True)
    context = loading.leader_loading_context(args)  # type: ignore[arg-type]
    assert context.podman and not context.singularity
    assert context.fetcher_constructor is not None
    assert context.fetcher_constructor({}, None).__class__.__name__ == "NotingFetcher"
