"""Job stores for the ``toil`` subcommands to read: made once per fuzz run by real workflows.

* ``finished``: a Python workflow that succeeded, kept with ``--stats`` (status, stats, debug-job);
* ``failed``: a Python workflow whose job failed (status --failed, debug-job);
* ``cwl``: a CWL tool run kept with ``--clean never``.

Each case copies one into its own directory (and may corrupt files of the copy).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fuzz.execute import case_env
from tests.fuzz.seeds import CWL_DOCS

SCRIPT = """\
import sys
from toil.common import Toil
from toil.job import Job


def leaf(x):
    return x * 2


def add(*xs):
    return sum(xs)


def boom(job):
    raise ValueError("the fixture job fails on purpose")


def root(job, fail):
    values = [job.addChildFn(leaf, i, memory="10M", cores=0.1).rv() for i in range(3)]
    if fail:
        job.addChildJobFn(boom, memory="10M")
    return job.addFollowOnFn(add, *values).rv()


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--fail", action="store_true")
    options = parser.parse_args()
    with Toil(options) as toil:
        print(toil.start(Job.wrapJobFn(root, options.fail, displayName="the root")))
"""
NAMES = ("finished", "failed", "cwl")


def build_fixtures(directory: Path, cache: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "home").mkdir(exist_ok=True)
    (directory / "tmp").mkdir(exist_ok=True)
    script = directory / "fixture_workflow.py"
    script.write_text(SCRIPT)
    py = [sys.executable, str(script)]
    common = ["--logLevel", "CRITICAL", "--retryCount", "0"]
    runs = {
        "finished": [*py, "file:finished", *common, "--stats", "--clean", "never"],
        "failed": [*py, "file:failed", *common, "--fail", "--clean", "never"],
        "cwl": [
            sys.executable,
            "-m",
            "toil.cli.cwl_main",
            "--quiet",
            "--no-container",
            "--jobStore",
            "cwl",
            "--clean",
            "never",
            "--outdir",
            "cwl-out",
            str(CWL_DOCS / "echo.cwl"),
            "--msg",
            "fixture",
        ],
    }
    out = {}
    for name, cmd in runs.items():
        p = subprocess.run(
            cmd, cwd=directory, env=case_env(directory, cache), capture_output=True, text=True, timeout=300
        )
        if not (directory / name).is_dir():
            raise RuntimeError(f"the fixture job store {name} was not made (exit {p.returncode}):\n{p.stderr[-2000:]}")
        out[name] = directory / name
    return out
