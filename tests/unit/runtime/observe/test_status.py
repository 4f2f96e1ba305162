"""Reading a workflow's status: leader liveness, the status file, and the journal when the leader died."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.observe.status import leader_alive, read_workflow_status


def test_leader_alive_on_this_host_and_elsewhere():
    here = socket.gethostname()
    assert leader_alive({"pid": os.getpid(), "host": here}, None)
    assert not leader_alive({"pid": 2**22 + 12345, "host": here}, None)
    assert not leader_alive({}, time.time())
    assert leader_alive({"pid": 1, "host": "elsewhere"}, time.time())
    assert not leader_alive({"pid": 1, "host": "elsewhere"}, time.time() - 3600)


def store(tmp_path) -> FileJobStore:
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w1"})
    return js


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(ToilUserError, match="does not exist"):
        read_workflow_status(FileJobStore(str(tmp_path / "nope")))


def test_a_finished_status_file_is_believed(tmp_path):
    js = store(tmp_path)
    counts = {"queued": 0, "issued": 0, "running": 0, "finished": 9, "failed": 1, "waiting": 0, "services": 0}
    js.write_status(
        json.dumps(
            {
                "state": "failed",
                "time": time.time(),
                "leader": {"pid": 1, "host": "x"},
                "counts": counts,
                "failed_jobs": [{"id": "a", "label": "'a'", "why": "boom"}],
            }
        ).encode()
    )
    st = read_workflow_status(js)
    assert st.state == "failed" and st.counts["finished"] == 9 and st.failed_jobs[0]["why"] == "boom"


def test_a_dead_leaders_running_status_falls_back_to_the_journal(tmp_path):
    js = store(tmp_path)
    from toil.compiler.ir import NodeSpec, Resources

    spec = NodeSpec("r", "python", "root", "root", Resources(1.0, 1 << 20, 1 << 20))
    journal = js.journal()
    journal.load()
    journal.append([{"t": "init", "root": "r", "nodes": [spec.to_json()]}])
    journal.sync()
    with open(os.path.join(js.path, "leader.json"), "w") as f:
        json.dump({"pid": 2**22 + 12345, "host": socket.gethostname()}, f)
    js.write_status(json.dumps({"state": "running", "time": time.time(), "leader": {}, "counts": {}}).encode())
    st = read_workflow_status(js)
    assert st.state == "crashed" and not st.leader_alive and st.counts["queued"] == 1
