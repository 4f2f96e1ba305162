"""Document sources in the job store: saved by the leader, read back once per worker process; the batch systems'
say whether their workers read the leader's files."""

from pathlib import Path

import pytest

from toil.compiler.files import leader_files_shared
from toil.compiler.sources import RECORD_KEY, Sources, from_record
from toil.runtime.batch import batch_system_class
from toil.runtime.jobstores.file.store import FileJobStore


def make_store(tmp_path: Path) -> FileJobStore:
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})
    return js


def test_sources_round_trip_through_the_job_store(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    sources = Sources()
    sources.note("file:///a/wf.cwl", "cwlVersion: v1.2\n")
    sources.note("file:///a/tool.cwl", "ünïcode\n")
    sources.note_fact("exists:file:///a/x", False)
    file_id = sources.save(js)
    back = from_record(js, {RECORD_KEY: file_id, "uri": "file:///a/wf.cwl"})
    assert back is not None
    assert back.text("file:///a/tool.cwl") == "ünïcode\n" and "file:///a/wf.cwl" in back and len(back) == 2
    assert back.fact("exists:file:///a/x") is False and back.fact("exists:file:///a/y") is None
    assert back.text("file:///a/other.cwl") is None


def test_a_worker_reads_the_sources_once(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    file_id = Sources({"k": "v"}).save(js)
    first = Sources.read(js, file_id)
    js.delete_file(file_id)
    assert Sources.read(js, file_id) is first  # cached for the worker's next jobs


def test_a_record_without_sources_names_none(tmp_path: Path) -> None:
    js = make_store(tmp_path)
    assert from_record(js, {"uri": "file:///a/wf.cwl"}) is None
    assert from_record(js, None) is None


@pytest.mark.parametrize(
    "name, shared",
    [
        ("single_machine", True),
        ("singleMachine", True),
        ("slurm", True),
        ("grid_engine", True),
        ("kubernetes", False),
        ("Kubernetes", False),
    ],
)
def test_which_batch_systems_workers_read_the_leaders_files(name: str, shared: bool) -> None:
    assert batch_system_class(name).shares_leader_files is shared

    class Config:
        batchSystem = name

    assert leader_files_shared(Config()) is shared


def test_an_unknown_or_unset_batch_system_is_taken_as_sharing() -> None:
    class Config:
        batchSystem = "no-such-system"

    assert leader_files_shared(Config()) is True  # refused later, where the batch system starts
    assert leader_files_shared(object()) is True  # the default: single_machine
