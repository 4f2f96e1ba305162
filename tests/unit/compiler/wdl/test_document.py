"""The WDL document and its imports travel as the texts the leader's load read: a worker loads them with none of the
leader's files, each task and workflow at the path the nodes name it by."""

import shutil
from pathlib import Path

import pytest

pytest.importorskip("WDL")

from toil.compiler.sources import RECORD_KEY, Sources  # noqa: E402
from toil.compiler.wdl import document, runner  # noqa: E402
from toil.runtime.driver import FRONTEND_RECORD  # noqa: E402
from toil.runtime.jobstores.file.store import FileJobStore  # noqa: E402

MAIN = """\
version 1.1
import "lib/tasks.wdl" as tasks
import "lib/structs.wdl"

workflow main {
  input { Who? nobody
 String who = "a" }
  call tasks.hello { input: who = who }
  output { String out = hello.out }
}
"""
TASKS = """\
version 1.1
import "structs.wdl"

task hello {
  input { String who }
  command <<< echo hello ~{who} >>>
  output { String out = read_string(stdout()) }
}
"""
STRUCTS = """\
version 1.1
struct Who { String name }
"""


def write_documents(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "main.wdl").write_text(MAIN)
    (root / "lib" / "tasks.wdl").write_text(TASKS)
    (root / "lib" / "structs.wdl").write_text(STRUCTS)
    return root / "main.wdl"


def test_the_leaders_load_notes_the_document_and_its_imports(tmp_path: Path) -> None:
    path = write_documents(tmp_path / "docs")
    document.load(str(path))
    sources = document.sources_of(str(path))
    assert sources.text(str(path)) == MAIN
    assert sources.text(str(tmp_path / "docs" / "lib" / "tasks.wdl")) == TASKS
    assert sources.text(str(tmp_path / "docs" / "lib" / "structs.wdl")) == STRUCTS
    assert len(sources) == 3  # structs.wdl, imported twice, is one text


def test_a_worker_loads_the_shipped_document_without_the_leaders_files(tmp_path: Path) -> None:
    path = write_documents(tmp_path / "docs")
    leader = document.load(str(path))
    task_ref = document.ref_of(leader.imports[0].doc.tasks[0])
    sources = Sources.from_json(document.sources_of(str(path)).to_json())
    shutil.rmtree(tmp_path / "docs")
    del document._documents[str(path)]  # a worker elsewhere: nothing inherited

    again = document.load(str(path), sources)
    assert again is not leader and again.workflow is not None and again.workflow.name == "main"
    task = document.find(str(path), task_ref)
    assert task.name == "hello" and document.ref_of(task) == task_ref


def test_a_worker_loads_from_the_job_store_the_record_names(tmp_path: Path) -> None:
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w"})
    path = write_documents(tmp_path / "docs")
    document.load(str(path))
    record = {"doc": str(path), RECORD_KEY: document.sources_of(str(path)).save(js), "container": None}
    js.write_shared_file(FRONTEND_RECORD, __import__("json").dumps(record).encode())
    shutil.rmtree(tmp_path / "docs")
    del document._documents[str(path)]

    runner.load_document(str(path), js)
    assert document.is_loaded(str(path))
    assert document.find(str(path), [str(path), "main"]).name == "main"
    assert runner.engine_of(js) is None


def test_an_import_the_sources_do_not_hold_is_read_from_here(tmp_path: Path) -> None:
    """Sources of an older run, or a document changed since: what they lack comes from the files."""
    path = write_documents(tmp_path / "docs")
    document.load(str(path))
    sources = document.sources_of(str(path))
    partial = Sources({str(path): MAIN}, {k: v for k, v in sources.facts.items() if v == str(path)})
    del document._documents[str(path)]
    doc = document.load(str(path), partial)
    assert doc.imports[0].doc.tasks[0].name == "hello"


def test_a_missing_document_without_sources_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(document.WDLUserError, match="no such WDL file"):
        document.load(str(tmp_path / "none.wdl"))
