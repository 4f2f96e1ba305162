"""Outputs that name files outside what a tool or task may hand back are refused, with one clear line.

CWL (as cwltool): an output must be in the tool's output directory or be an input passed through
("Output file path ... must be within designated output directory ... or an input file pass through").
cwltool compares paths as strings, so a glob like ``../../etc/hostname`` slips through its check; here it
is refused too, as are symbolic links out of the output directory (they would dangle in a container).
WDL (as miniwdl): a task output must be inside the task's working directory or be one of its inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CWL_DOCS = HERE / "cwl_docs"
WDL_DIR = HERE / "wdl"
BIN = Path(sys.executable).parent
HOST_FILE = Path("/etc/hostname")


def run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    # TMPDIR: the temporary job store (kept after a failure) stays in tmp_path
    env = {**os.environ, "TMPDIR": str(tmp_path), "TOIL_RETRY_BACKOFF_SECONDS": "0.05"}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)


def failure_line(stderr: str) -> str:
    """The one line that says why the run failed."""
    lines = [line for line in stderr.splitlines() if "workflow failed" in line]
    assert len(lines) == 1, stderr
    return lines[0]


def nothing_exported(out: Path) -> None:
    assert not out.exists() or not any(out.rglob("*")), sorted(out.rglob("*"))


def host_copies_in(root: Path) -> list[Path]:
    """Files under root (the job store, the work directory, --outdir) holding a copy of the host file.

    (A symbolic link the tool itself made stays where it made it; it is not a copy.)
    """
    host = HOST_FILE.read_bytes()
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and path.stat().st_size == len(host) and path.read_bytes() == host
    ]


CWL_CASES = [
    ("escape_glob_absolute.cwl", "glob patterns must not start with '/'"),
    ("escape_glob_parent.cwl", "Output file path /etc/hostname must be within designated output directory"),
    ("escape_glob_sibling.cwl", "escape_glob_sibling.txt must be within designated output directory"),
    ("escape_output_eval.cwl", "Output file path /etc/hostname must be within designated output directory"),
    ("escape_output_eval_location.cwl", "Output file path /etc/hostname must be within designated output directory"),
    ("escape_secondary.cwl", "Output file path /etc/hostname must be within designated output directory"),
    ("escape_dir_listing.cwl", "Output file path /etc/hostname must be within designated output directory"),
    ("escape_symlink_relative.cwl", "an output is a symbolic link to /etc/hostname, outside the job's working"),
    ("escape_symlink_dir.cwl", "an output is a symbolic link to /etc/default, outside the job's working"),
    ("escape_symlink_in_dir.cwl", "holds a symbolic link to /etc/hostname, outside the job's working directory"),
]


@pytest.mark.parametrize("doc,message", CWL_CASES, ids=[c[0] for c in CWL_CASES])
def test_cwl_output_outside_the_output_directory_is_refused(tmp_path, doc, message):
    out = tmp_path / "out"
    p = run(
        [str(BIN / "toil-cwl-runner"), "--no-container", "--quiet", "--outdir", str(out), str(CWL_DOCS / doc)], tmp_path
    )
    assert p.returncode == 1, p.stderr
    line = failure_line(p.stderr)
    assert message in line, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout.strip() in ("", "{}")
    nothing_exported(out)
    assert host_copies_in(tmp_path) == []


def test_cwl_outputs_inside_the_output_directory_or_passed_through_are_allowed(tmp_path):
    given = tmp_path / "given.txt"
    given.write_text("given\n")
    out = tmp_path / "out"
    p = run(
        [
            str(BIN / "toil-cwl-runner"),
            "--no-container",
            "--quiet",
            "--outdir",
            str(out),
            str(CWL_DOCS / "escape_input_ok.cwl"),
            "--given",
            str(given),
        ],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert Path(result["same"]["path"]).read_text() == "given\n"
    assert Path(result["top"]["path"]).read_text() == "x\n"
    assert (out / "d" / "own.txt").read_text() == "x\n"
    assert os.readlink(out / "d" / "sibling.txt") == "own.txt"


def test_cwl_refusal_inside_a_workflow_stops_the_workflow(tmp_path):
    doc = tmp_path / "wf.cwl"
    doc.write_text(
        json.dumps(
            {
                "cwlVersion": "v1.2",
                "class": "Workflow",
                "inputs": [],
                "outputs": [{"id": "stolen", "type": "File", "outputSource": "escape/stolen"}],
                "steps": [
                    {"id": "escape", "run": str(CWL_DOCS / "escape_glob_parent.cwl"), "in": [], "out": ["stolen"]}
                ],
            }
        )
    )
    out = tmp_path / "out"
    p = run([str(BIN / "toil-cwl-runner"), "--no-container", "--quiet", "--outdir", str(out), str(doc)], tmp_path)
    assert p.returncode == 1
    assert "Output file path /etc/hostname must be within designated output directory" in failure_line(p.stderr)
    nothing_exported(out)
    assert host_copies_in(tmp_path) == []


WDL_CASES = [
    ("escape_absolute.wdl", "task outputs attempted to use a path outside its working directory: /etc/hostname"),
    ("escape_parent.wdl", "task outputs attempted to use a path outside its working directory: ../outside.txt"),
    ("escape_parent_host.wdl", "task outputs attempted to use a path outside its working directory: ../../"),
    ("escape_symlink.wdl", "task outputs attempted to use a path outside its working directory: link.txt"),
    ("escape_glob.wdl", "task outputs attempted to use a path outside its working directory: d/link.txt"),
    ("escape_directory.wdl", "Directory in output d contains unusable symlink"),
]


@pytest.mark.parametrize("doc,message", WDL_CASES, ids=[c[0] for c in WDL_CASES])
def test_wdl_task_output_outside_its_working_directory_is_refused(tmp_path, doc, message):
    out = tmp_path / "out"
    p = run([str(BIN / "toil-wdl-runner"), str(WDL_DIR / doc), "-o", str(out), "--logLevel", "WARNING"], tmp_path)
    assert p.returncode == 1, p.stderr
    line = failure_line(p.stderr)
    assert message in line and line.startswith("toil-wdl-runner: error:"), p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout.strip() == ""
    nothing_exported(out)
    assert host_copies_in(tmp_path) == []


def test_wdl_outputs_that_are_inputs_or_links_to_them_are_allowed(tmp_path):
    given = tmp_path / "given.txt"
    given.write_text("given\n")
    out = tmp_path / "out"
    p = run(
        [
            str(BIN / "toil-wdl-runner"),
            str(WDL_DIR / "escape_input_ok.wdl"),
            "-i",
            json.dumps({"escape_input_ok.given": str(given)}),
            "-o",
            str(out),
            "--logLevel",
            "WARNING",
        ],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert Path(got["escape_input_ok.same"]).read_text() == "given\n"
    assert Path(got["escape_input_ok.linked"]).read_text() == "given\n"
    assert all(Path(v).parent == out for v in got.values())
