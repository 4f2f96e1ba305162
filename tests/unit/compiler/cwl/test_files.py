"""The CWL data plane on a real file job store: values in stored form between nodes, localized per node."""

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("cwltool")

from schema_salad.ref_resolver import file_uri, uri_file_path  # noqa: E402

from toil.compiler.cwl.files import Files, stored_ids  # noqa: E402
from toil.compiler.files import split_uri  # noqa: E402
from toil.runtime.jobstores.file.store import FileJobStore  # noqa: E402


class RemoteLikeStore(FileJobStore):
    """A file job store without a local area: as a store no worker shares a file system with."""

    def local_area(self, name: str) -> None:
        return None


def make_store(tmp_path: Path, cls: type = FileJobStore) -> FileJobStore:
    js = cls(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})
    return js


def tool_outputs(outdir: Path) -> dict:
    """An output object as cwltool collects it: a file with a secondary file, a directory, a literal, a URL."""
    (outdir / "tree" / "sub").mkdir(parents=True)
    (outdir / "data #1.txt").write_text("data\n")
    (outdir / "data #1.txt.idx").write_text("idx\n")
    (outdir / "tree" / "one.txt").write_text("one\n")
    (outdir / "tree" / "sub" / "two.txt").write_text("two\n")
    return {
        "data": {
            "class": "File",
            "location": file_uri(str(outdir / "data #1.txt")),
            "basename": "data #1.txt",
            "size": 5,
            "checksum": "sha1$x",
            "path": str(outdir / "data #1.txt"),
            "secondaryFiles": [
                {"class": "File", "location": file_uri(str(outdir / "data #1.txt.idx")), "basename": "data #1.txt.idx"}
            ],
        },
        "tree": {
            "class": "Directory",
            "location": file_uri(str(outdir / "tree")),
            "basename": "tree",
            "listing": [
                {"class": "File", "location": file_uri(str(outdir / "tree" / "one.txt")), "basename": "one.txt"},
                {"class": "Directory", "location": file_uri(str(outdir / "tree" / "sub")), "basename": "sub"},
            ],
        },
        "literal": {"class": "File", "location": "_:abc", "basename": "lit.txt", "contents": "hi"},
        "url": {"class": "File", "location": "https://example.org/x.txt"},
        "n": 3,
    }


def producer(js: FileJobStore, workdir: Path, outdir: Path) -> Files:
    files = Files(js, str(workdir), "make")
    files.made_in(str(outdir))  # as run_tool notes its tool's output directory
    return files


def local(location: str) -> Path:
    return Path(uri_file_path(location))


def test_results_hold_job_store_ids_only_and_literals_and_urls_stay(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    outdir = Path(js.local_area("cwl")) / "out-1"
    stored = producer(js, tmp_path / "w1", outdir).store_all(tool_outputs(outdir))
    assert "file://" not in json.dumps(stored)
    assert stored["data"]["location"].startswith("toilfile:") and "path" not in stored["data"]
    assert stored["data"]["secondaryFiles"][0]["location"].startswith("toilfile:")
    assert stored["tree"]["location"].startswith("toildir:")
    assert [e["location"].split(":")[0] for e in stored["tree"]["listing"]] == ["toilfile", "toildir"]
    assert stored["literal"] == tool_outputs(tmp_path / "again")["literal"]
    assert stored["url"]["location"] == "https://example.org/x.txt" and stored["n"] == 3
    assert stored["data"]["checksum"] == "sha1$x" and stored["data"]["size"] == 5
    assert all(js.file_exists(split_uri(u)[1]) for u in stored_ids(stored))


def test_a_local_store_keeps_references_and_gives_back_the_paths_in_place(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    outdir = Path(js.local_area("cwl")) / "out-1"
    stored = producer(js, tmp_path / "w1", outdir).store_all(tool_outputs(outdir))
    assert os.path.islink(js.local_path(split_uri(stored["data"]["location"])[1]))  # no copy
    reader = Files(js, str(tmp_path / "w2"), "read")
    job = reader.localize(stored)
    assert local(job["data"]["location"]) == outdir / "data #1.txt"
    assert local(job["tree"]["location"]) == outdir / "tree"
    assert local(job["tree"]["listing"][1]["location"]) == outdir / "tree" / "sub"
    # what a node passes on unchanged keeps its ID (nothing is stored twice)
    assert reader.store_all(job) == stored


def test_without_a_local_area_files_are_copied_in_and_read_back_by_id(tmp_path: Path) -> None:
    js = make_store(tmp_path, RemoteLikeStore)
    outdir = tmp_path / "w1" / "out-1"  # the producing job's own work directory
    stored = Files(js, str(tmp_path / "w1"), "make").store_all(tool_outputs(outdir))
    assert not os.path.islink(js.local_path(split_uri(stored["data"]["location"])[1]))
    reader = Files(js, str(tmp_path / "w2"), "read")
    job = reader.localize(stored)
    data, index = local(job["data"]["location"]), local(job["data"]["secondaryFiles"][0]["location"])
    assert str(data).startswith(str(tmp_path / "w2")) and data.read_text() == "data\n"
    assert index.parent == data.parent and index.name == "data #1.txt.idx"  # siblings again
    tree = local(job["tree"]["location"])
    assert str(tree).startswith(str(tmp_path / "w2")) and (tree / "sub" / "two.txt").read_text() == "two\n"
    assert [local(e["location"]) for e in job["tree"]["listing"]] == [tree / "one.txt", tree / "sub"]
    assert reader.store_all(job) == stored
    # a copy the tool changed in place (InplaceUpdateRequirement) is stored again
    data.write_text("changed data\n")
    changed = reader.store_all(job)
    assert changed["data"]["location"] != stored["data"]["location"]
    with js.read_file_stream(split_uri(changed["data"]["location"])[1]) as f:
        assert f.read() == b"changed data\n"


def test_outputs_in_the_work_directory_are_copied_even_into_a_local_store(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    workdir = tmp_path / "w1"
    stored = Files(js, str(workdir), "make").store_all(tool_outputs(workdir / "out-1"))
    stored_path = js.local_path(split_uri(stored["data"]["location"])[1])
    assert not os.path.islink(stored_path)  # the work directory goes with the job: a reference would dangle
    manifest_id = split_uri(stored["tree"]["location"])[1]
    with js.read_file_stream(manifest_id) as f:
        assert "root" not in json.loads(f.read())


def test_paths_the_node_was_given_stay_paths(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    given = tool_outputs(tmp_path / "user")  # the workflow's own input files, read where they are
    assert Files(js, str(tmp_path / "w1"), "step").store_all(given) == given


@pytest.mark.parametrize("store_class", [FileJobStore, RemoteLikeStore])
def test_a_listing_made_after_reading_a_directory_names_its_stored_files(tmp_path: Path, store_class: type) -> None:
    js = make_store(tmp_path, store_class)
    outdir = Path(js.local_area("cwl") or tmp_path / "w1") / "out-1"
    stored = producer(js, tmp_path / "w1", outdir).store_all(tool_outputs(outdir))
    with js.read_file_stream(split_uri(stored["tree"]["location"])[1]) as f:
        members = dict(json.loads(f.read())["files"])
    reader = Files(js, str(tmp_path / "w2"), "read")
    tree = reader.localize({**stored["tree"], "listing": None})
    root = local(tree["location"])
    # as cwltool's get_listing lists it (a valueFrom, loadListing)
    tree["listing"] = [
        {"class": "File", "location": file_uri(str(root / "one.txt")), "basename": "one.txt"},
        {"class": "Directory", "location": file_uri(str(root / "sub")), "basename": "sub"},
    ]
    again = reader.store_all(tree)
    assert again["location"] == stored["tree"]["location"]
    one, sub = again["listing"]
    assert split_uri(one["location"])[1] == members["one.txt"]  # the same job-store file, not a copy
    assert sub["location"].startswith("toildir:")
