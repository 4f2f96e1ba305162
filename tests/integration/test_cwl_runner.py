"""toil-cwl-runner end to end: real documents, real tools, the local batch system and a file job store."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("cwltool")
pytestmark = pytest.mark.integration

DOCS = Path(__file__).parent / "cwl_docs"
RUNNER = [sys.executable, "-m", "toil.cli.cwl_main"]


def cwl(*args: str, cwd: Path, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*RUNNER, "--no-container", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=full_env)


def test_a_tool_with_inputs_as_flags_prints_outputs_and_writes_outdir(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "echo.cwl"), "--msg", "hello there",
            cwd=tmp_path)
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
    assert contents == ["ALPHA\n", "keep\n", "GAMMA\n"]       # the 'when' skipped upper-casing 'keep'
    assert all(Path(f["path"]).parent == tmp_path / "out" for f in result["shouted"])


def test_the_temporary_job_store_is_removed_after_success(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "echo.cwl"), "--msg", "x", cwd=tmp_path,
            env={"TMPDIR": str(scratch)})
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
    args = ["--quiet", "--jobStore", str(store), "--outdir", str(tmp_path / "out"), str(DOCS / "sidefx.cwl"),
            "--log", str(log), "--secs", "3"]
    leader = subprocess.Popen([*RUNNER, "--no-container", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while not (log.exists() and "mark" in log.read_text()):
        assert leader.poll() is None and time.time() < deadline, "the first step never ran"
        time.sleep(0.05)
    time.sleep(0.5)       # let the leader record the first step and start the second
    os.kill(leader.pid, signal.SIGKILL)      # the leader alone: its workers and their commands must follow
    leader.wait()
    assert store.exists()
    p = cwl("--restart", *args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # The finished step did not run again; the killed one ran again, once (its first command died with the leader).
    assert log.read_text().split() == ["mark", "nap"]
    done = json.loads(p.stdout)["done"]
    assert Path(done["path"]).read_text() == "marked\n"
    assert not store.exists()                                # cleaned after success


def test_an_output_linking_outside_the_job_fails(tmp_path: Path) -> None:
    p = cwl("--quiet", "--outdir", str(tmp_path / "out"), str(DOCS / "escape.cwl"), cwd=tmp_path)
    assert p.returncode == 1
    assert "outside the job's working directory" in p.stderr


def test_output_directories_under_tmp_outdir_prefix_are_removed(tmp_path: Path) -> None:
    prefix = tmp_path / "outs"
    prefix.mkdir()
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": ["a", "b"]}))
    p = cwl("--quiet", "--tmp-outdir-prefix", f"{prefix}/", "--outdir", str(tmp_path / "out"), str(DOCS / "fan.cwl"),
            str(job), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["shouted"]) == 2
    assert os.listdir(prefix) == []
