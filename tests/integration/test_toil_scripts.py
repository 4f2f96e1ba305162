"""Toil's own scripts, unchanged: the tutorial scripts as Toil's scriptsTest.py checks them, and sort.py as its
sortTest.py does (output sorted; killed workers, failed jobs and --restart until done; the job store refusals),
on the local batch system and on Slurm."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.hpc import ensure_podman, ensure_slurm
from tests.integration.toil_scripts import toil_96_scripts

pytestmark = pytest.mark.integration
FIRST_LAST = (
    "Hello world, I have a message: first.*Hello world, I have a message: second or third.*"
    "Hello world, I have a message: second or third.*Hello world, I have a message: last"
)
# script -> (extra arguments, what its output must hold: a string, a regular expression, or None for the exit
# code alone), as Toil's scriptsTest.py has them
TUTORIALS: dict[str, tuple[list[str], str | re.Pattern[str] | None]] = {
    "tutorial_stats.py": (["--scale=0.5"], None),
    "tutorial_dynamic.py": ([], None),
    "tutorial_encapsulation.py": ([], None),
    "tutorial_encapsulation2.py": ([], None),
    "tutorial_helloworld.py": ([], "Hello, world!, here's a message: You did it!\n"),
    "tutorial_invokeworkflow.py": ([], "Hello, world!, here's a message: Woot\n"),
    "tutorial_invokeworkflow2.py": ([], "Hello, world!, I have a message: Woot!\n"),
    "tutorial_jobfunctions.py": ([], "Hello world, I have a message: Woot!\n"),
    "tutorial_managing.py": ([], None),
    "tutorial_managing2.py": ([], None),
    "tutorial_multiplejobs.py": ([], re.compile(FIRST_LAST, re.DOTALL)),
    "tutorial_multiplejobs2.py": ([], re.compile(FIRST_LAST, re.DOTALL)),
    "tutorial_multiplejobs3.py": ([], re.compile(FIRST_LAST, re.DOTALL)),
    "tutorial_promises2.py": ([], str([format(i, "05b") for i in range(32)])),
    "tutorial_quickstart.py": ([], "Hello, world!, here's a message: Woot\n"),
    "tutorial_requirements.py": ([], None),
    "tutorial_arguments.py": ([], "Hello, world!, here's a message: Woot"),
    "tutorial_docker.py": ([], None),
    "tutorial_promises.py": ([], re.compile("i is: 1.*i is: 2.*i is: 3", re.DOTALL)),
    "tutorial_services.py": ([], None),
    "tutorial_staging.py": ([], None),
}


@pytest.fixture(scope="module")
def scripts() -> Path:
    return toil_96_scripts()


def run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("script", sorted(TUTORIALS))
def test_toil_tutorial_script(script: str, scripts: Path, tmp_path: Path) -> None:
    if script == "tutorial_docker.py":
        ensure_podman()  # its image, ubuntu, is one of the images infra/podman-up.sh provides
    extra, expected = TUTORIALS[script]
    p = run(
        [str(scripts / "docs" / "scripts" / script), f"file:{tmp_path / 'js'}", "--clean=always", *extra], cwd=tmp_path
    )
    out = p.stdout + " " + p.stderr
    assert p.returncode == 0, out[-3000:]
    if isinstance(expected, str):
        assert expected in out, out[-3000:]
    elif expected is not None:
        assert expected.search(out), out[-3000:]


def sort_run(scripts: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(
        [
            str(scripts / "sort" / "sort.py"),
            *args,
            "--fileToSort",
            str(tmp_path / "in.txt"),
            "--outputFile",
            str(tmp_path / "out.txt"),
            "--logLevel",
            "WARNING",
        ],
        cwd=tmp_path,
    )


def make_input(path: Path, lines: int, width: int) -> list[str]:
    rng = random.Random(lines)
    text = ["".join(rng.choice("actgACTGNXYZ") for _ in range(width - 1)) + "\n" for _ in range(lines)]
    path.write_text("".join(text))
    return sorted(text)


def test_sort_py_sorts_through_killed_workers_and_restarts(scripts: Path, tmp_path: Path) -> None:
    """sortTest's _toilSort: --badWorker 0.5 kills half the workers, two retries, --restart until it finishes."""
    expected = make_input(tmp_path / "in.txt", 300, 10)
    js = f"file:{tmp_path / 'js'}"
    flaky = [
        "--retryCount",
        "2",
        "--badWorker",
        "0.5",
        "--badWorkerFailInterval",
        "0.05",
        "--clean",
        "never",
        "--retryBackoffSeconds",
        "0",
        "--N",
        "600",
    ]
    missing = sort_run(scripts, tmp_path, js, "--restart", *flaky)
    assert missing.returncode != 0 and "does not exist" in missing.stderr, missing.stderr[-2000:]
    first = sort_run(scripts, tmp_path, js, *flaky)
    again = sort_run(scripts, tmp_path, js, *flaky)  # the store is kept: starting without --restart is refused
    assert again.returncode != 0 and "already exists" in again.stderr, again.stderr[-2000:]
    tries = 1
    result = first
    while result.returncode != 0:
        assert "failed" in result.stderr, result.stderr[-3000:]
        assert tries <= 32, "no end after 32 restarts"
        result = sort_run(scripts, tmp_path, js, "--restart", *flaky)
        tries += 1
    assert (tmp_path / "out.txt").read_text().splitlines(keepends=True) == expected
    clean = subprocess.run([str(Path(sys.executable).parent / "toil"), "clean", js], capture_output=True, text=True)
    assert clean.returncode == 0 and not (tmp_path / "js").exists(), clean.stderr


def test_sort_py_with_checkpoints_sorts_10000_lines(scripts: Path, tmp_path: Path) -> None:
    expected = make_input(tmp_path / "in.txt", 10000, 10)
    p = sort_run(scripts, tmp_path, f"file:{tmp_path / 'js'}", "--N", "10000", "--downCheckpoints")
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "out.txt").read_text().splitlines(keepends=True) == expected


@pytest.mark.slurm
def test_sort_py_on_slurm(scripts: Path, tmp_path: Path) -> None:
    ensure_slurm()
    expected = make_input(tmp_path / "in.txt", 400, 20)
    try:
        p = sort_run(
            scripts,
            tmp_path,
            f"file:{tmp_path / 'js'}",
            "--batchSystem",
            "slurm",
            "--statePollingWait",
            "1",
            "--N",
            "3000",
            "--disableProgress",
        )
        assert p.returncode == 0, p.stderr[-3000:]
        assert (tmp_path / "out.txt").read_text().splitlines(keepends=True) == expected
    finally:
        subprocess.run(["scancel", "-u", "root"], capture_output=True)
        shutil.rmtree(tmp_path / "js", ignore_errors=True)
