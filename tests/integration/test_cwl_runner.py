"""toil-cwl-runner end to end: real documents, real tools, the local batch system and a file job store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cwltool")
pytestmark = pytest.mark.integration

DOCS = Path(__file__).parent / "cwl_docs"
RUNNER = [sys.executable, "-m", "toil.cli.cwl_main"]


def cwl(*args: str, cwd: Path, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*RUNNER, "--no-container", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=full_env
    )


def test_a_tool_with_inputs_as_flags_prints_outputs_and_writes_outdir(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "echo.cwl"), "--msg", "hello there", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)["out"]
    assert out["class"] == "File" and out["size"] == len("hello there\n")
    assert Path(out["path"]).parent == tmp_path / "out"
    assert Path(out["path"]).read_text() == "hello there\n"


def test_scatter_over_a_subworkflow_with_conditionals_and_an_expression_tool(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": ["alpha", "keep", "gamma"]}))
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "fan.cwl"), str(job), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["count"] == 3
    contents = [Path(f["path"]).read_text() for f in result["shouted"]]
    assert contents == ["ALPHA\n", "keep\n", "GAMMA\n"]  # the 'when' skipped upper-casing 'keep'
    assert all(Path(f["path"]).parent == tmp_path / "out" for f in result["shouted"])


def test_the_temporary_job_store_is_removed_after_success(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    p = cwl(
        "--quiet",
        "--outdir",
        str(tmp_path / "out"),
        str(DOCS / "echo.cwl"),
        "--msg",
        "x",
        cwd=tmp_path,
        env={"TMPDIR": str(scratch)},
    )
    assert p.returncode == 0, p.stderr
    assert not [n for n in os.listdir(scratch) if n.startswith("toil-cwl-")]


def test_an_unsupported_requirement_exits_33(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "docker.cwl"), cwd=tmp_path)
    assert p.returncode == 33, p.stderr
    assert "DockerRequirement" in p.stderr


def test_a_failing_tool_fails_the_run_and_exports_nothing(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "fails.cwl"), cwd=tmp_path)
    assert p.returncode == 1
    assert "permanentFail" in p.stderr
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
    assert p.stdout.strip() == ""


def test_a_document_error_names_the_file_and_line(tmp_path: Path) -> None:
    p = cwl(str(DOCS / "badtype.cwl"), cwd=tmp_path)
    assert p.returncode == 1
    assert "badtype.cwl:4:" in p.stderr and "Traceback" not in p.stderr


def test_a_missing_input_is_reported(tmp_path: Path) -> None:
    p = cwl("--outdir", str(tmp_path / "out"), str(DOCS / "echo.cwl"), cwd=tmp_path)
    assert p.returncode != 0
    assert "msg" in p.stderr and "Traceback" not in p.stderr


def test_restart_after_the_leader_is_killed_does_not_rerun_finished_steps(tmp_path: Path) -> None:
    log, store = tmp_path / "sidefx.log", tmp_path / "js"
    args = [
        "--quiet",
        "--jobStore",
        str(store),
        "--outdir",
        str(tmp_path / "out"),
        str(DOCS / "sidefx.cwl"),
        "--log",
        str(log),
        "--secs",
        "3",
    ]
    leader = subprocess.Popen(
        [*RUNNER, "--no-container", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while not (log.exists() and "mark" in log.read_text()):
        assert leader.poll() is None and time.time() < deadline, "the first step never ran"
        time.sleep(0.05)
    time.sleep(0.5)  # let the leader record the first step and start the second
    os.kill(leader.pid, signal.SIGKILL)  # the leader alone: its workers and their commands must follow
    leader.wait()
    assert store.exists()
    p = cwl("--restart", *args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # The finished step did not run again; the killed one ran again, once (its first command died with the leader).
    assert log.read_text().split() == ["mark", "nap"]
    done = json.loads(p.stdout)["done"]
    assert Path(done["path"]).read_text() == "marked\n"
    assert not store.exists()  # cleaned after success


def test_an_output_linking_outside_the_job_fails(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "escape.cwl"), cwd=tmp_path)
    assert p.returncode == 1
    assert "outside the job's working directory" in p.stderr


def test_output_directories_under_tmp_outdir_prefix_are_removed(tmp_path: Path) -> None:
    prefix = tmp_path / "outs"
    prefix.mkdir()
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": ["a", "b"]}))
    p = cwl(
        "--quiet",
        "--tmp-outdir-prefix",
        f"{prefix}/",
        "--outdir",
        str(tmp_path / "out"),
        str(DOCS / "fan.cwl"),
        str(job),
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["shouted"]) == 2
    assert os.listdir(prefix) == []


# ------------------------------------------------------------------ the data plane: step outputs in the job store

NO_LOCAL_AREA = """\
from toil.runtime.jobstores.file.store import FileJobStore
FileJobStore.local_area = lambda self, name: None   # as a store no worker shares a file system with
"""


def without_local_area(tmp_path: Path) -> dict[str, str]:
    """The environment of a run whose job store has no local area (a sitecustomize, so workers get it too)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCAL_AREA)
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)}


def run_two_steps(tmp_path: Path, env: dict | None = None) -> tuple[Path, dict]:
    store, outdir = tmp_path / "js", tmp_path / "out"
    p = cwl(
        "--quiet",
        "--jobStore",
        str(store),
        "--clean",
        "never",
        "--outdir",
        str(outdir),
        str(DOCS / "two_steps.cwl"),
        "--msg",
        "hello",
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert Path(out["report"]["path"]).read_text() == "hello\nindex\none\ntwo\n"  # the second step read all
    assert Path(out["said"]["path"]).read_text() == "hello\n"  # loadContents + valueFrom
    assert out["made"]["secondaryFiles"][0]["path"] == str(outdir / "data.txt.idx")
    assert out["made"]["checksum"] == "sha1$f572d396fae9206628714fb2ce00f72e94f2258f" and out["made"]["size"] == 6
    assert sorted(os.listdir(outdir / "tree")) == ["one.txt", "sub"]
    assert (outdir / "tree" / "sub" / "two.txt").read_text() == "two\n"
    assert [e["basename"] for e in out["tree"]["listing"]] == ["one.txt", "sub"]
    return store, out


def step_returns(store: Path) -> tuple[Any, dict[str, Any]]:
    """The job store and each node's return value by node name (a file job store keeps them in returns/)."""
    from toil.runtime.jobstores import open_job_store

    js = open_job_store(str(store))
    return js, {node.rsplit("-", 1)[0]: json.loads(js.read_return(node)) for node in os.listdir(store / "returns")}


def stored_id(location: str) -> str:
    from toil.compiler.files import split_uri

    return split_uri(location)[1]


def test_step_outputs_are_job_store_files_read_in_place_from_a_local_store(tmp_path: Path) -> None:
    store, _ = run_two_steps(tmp_path)
    js, returns = step_returns(store)
    assert "file://" not in json.dumps(returns)  # no node hands another a path of its own machine
    data, tree = returns["make"]["data"], returns["make"]["tree"]
    assert data["location"].startswith("toilfile:") and tree["location"].startswith("toildir:")
    assert data["secondaryFiles"][0]["location"].startswith("toilfile:")
    assert returns["read"]["report"]["location"].startswith("toilfile:")
    for location in (data["location"], data["secondaryFiles"][0]["location"], tree["location"]):
        assert js.file_exists(stored_id(location))
    # the local store holds a reference to the tool's output, not a copy
    stored = js.local_path(stored_id(data["location"]))
    assert os.path.islink(stored) and os.readlink(stored).startswith(str(store / "areas" / "cwl"))


def test_without_a_local_area_every_step_reads_its_inputs_by_id(tmp_path: Path) -> None:
    store, _ = run_two_steps(tmp_path, env=without_local_area(tmp_path))
    assert not (store / "areas").exists()  # nothing was kept in place: the patch reached the workers
    js, returns = step_returns(store)
    assert "file://" not in json.dumps(returns)
    data = returns["make"]["data"]
    # a copy in the job store: the work directory the first step wrote it in is gone (--cleanWorkDir always),
    # so the second step (which printed it) could only read it by its ID
    assert not os.path.islink(js.local_path(stored_id(data["location"])))
    with js.read_file_stream(stored_id(data["location"])) as f:
        assert f.read() == b"hello\n"


def test_a_scatter_over_a_subworkflow_runs_without_a_local_area(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": ["alpha", "keep", "gamma"]}))
    p = cwl(
        "--quiet",
        "--outdir",
        str(tmp_path / "out"),
        str(DOCS / "fan.cwl"),
        str(job),
        cwd=tmp_path,
        env=without_local_area(tmp_path),
    )
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert [Path(f["path"]).read_text() for f in result["shouted"]] == ["ALPHA\n", "keep\n", "GAMMA\n"]
    assert all(Path(f["path"]).parent == tmp_path / "out" for f in result["shouted"])
