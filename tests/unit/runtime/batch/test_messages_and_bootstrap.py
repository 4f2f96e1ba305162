"""Job store messages (what remote workers read instead of files in a local area) and the one worker
bootstrap that _toil_worker, the pack runner and toil debug-job share."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Iterator

import pytest

from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.worker.bootstrap import bootstrap_worker, read_worker_message


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """The bootstrap sets up the root logger as a worker's: put pytest's back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def store(tmp_path: Path) -> FileJobStore:
    config = Config()
    config.workflowID = "boot-test"
    config.workDir = str(tmp_path / "work")
    config.logLevel = "WARNING"
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json()})
    return js


def test_messages_are_written_whole_replaced_read_and_deleted(store: FileJobStore) -> None:
    with pytest.raises(KeyError):
        store.read_message("n1.0.json")
    store.write_message("n1.0.json", b"first")
    store.write_message("n1.0.json", b"second")
    assert store.read_message("n1.0.json") == b"second"
    path = os.path.join(store.path, "messages", "n1.0.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert os.listdir(os.path.dirname(path)) == ["n1.0.json"], "no temporary file left behind"
    store.delete_message("n1.0.json")
    store.delete_message("n1.0.json")
    with pytest.raises(KeyError):
        store.read_message("n1.0.json")


def test_bad_message_names_are_refused(store: FileJobStore) -> None:
    for bad in ("../toil.json", "a/b", ".hidden", "..", ""):
        with pytest.raises(ValueError):
            store.write_message(bad, b"x")


def test_a_worker_message_by_name_or_by_the_path_of_a_file(
    store: FileJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_message("n1.0.json", json.dumps({"token": "n1.0"}).encode())
    assert read_worker_message(store, "n1.0.json") == {"token": "n1.0"}
    (tmp_path / "message.json").write_text(json.dumps({"token": "from-file"}))
    assert read_worker_message(store, str(tmp_path / "message.json")) == {"token": "from-file"}
    monkeypatch.chdir(tmp_path)
    assert read_worker_message(store, "message.json") == {"token": "from-file"}, "a relative path still works"
    with pytest.raises(FileNotFoundError):
        read_worker_message(store, "nothing.json")


def test_the_bootstrap_attaches_the_config_and_makes_the_work_dir(store: FileJobStore, tmp_path: Path) -> None:
    env = bootstrap_worker(store.locator)
    assert env.config.workflowID == "boot-test" and env.job_store.config is env.config
    assert env.workflow_dir == str(tmp_path / "work" / "toil-boot-test") and os.path.isdir(env.workflow_dir)
    other = bootstrap_worker(store, log_level="ERROR", workflow_dir=str(tmp_path / "elsewhere"), disableChaining=True)
    assert other.job_store is store and other.config.logLevel == "ERROR" and other.config.disableChaining
    assert os.path.isdir(tmp_path / "elsewhere")


def test_the_bootstrap_adopts_the_leaders_main_script(
    store: FileJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(sys, "path", list(sys.path))
    script = tmp_path / "flow.py"
    script.write_text("class Defined:\n    pass\n")
    bootstrap_worker(store, str(script))
    assert hasattr(sys.modules["__main__"], "Defined") and sys.path[0] == str(tmp_path)
