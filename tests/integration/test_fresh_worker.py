"""_toil_worker runs a job in a fresh interpreter, finding classes of the leader's __main__ script."""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path

import pytest

from tests.conftest import run_script

pytestmark = pytest.mark.integration


def test_fresh_worker_runs_a_main_defined_job(tmp_path):
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    p = run_script(Path(__file__).parent / "scripts" / "fresh_worker.py", str(tmp_path), env=env)
    assert p.returncode == 0, p.stderr
    assert "EXIT 0" in p.stdout
    result = json.loads(p.stdout.split("RESULT ", 1)[1])
    run = result["runs"][0]
    assert run["c"] and len(run["add"]) == 1  # it added one child
    assert result["messages"] == [[20, "doubling"]]
    # The job returned its child's promise: a small value travels in the run's record, which names the child it
    # refers to; resolving it reads the child's stored value.
    from toil.compiler.ir import RunRecord
    from toil.compiler.python.promise import Prefetched, load_return, resolving_promises
    from toil.runtime.jobstores.file.store import FileJobStore

    js = FileJobStore(str(tmp_path / "js"))
    child = run["add"][0]["id"]
    record = RunRecord.from_json(run)
    assert record.return_value is not None and record.return_refs == [child]
    js.write_return(child, pickle.dumps("42"))
    reader = Prefetched(js, {}, {run["id"]: record.return_value})
    with resolving_promises(reader):
        assert load_return(reader, run["id"]) == "42"
