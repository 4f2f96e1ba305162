"""What projects built on Toil do through its internals works here, end to end: toil_container's replaced job
log formatting and registered batch system, cactus's reading of Toil's option names, a configargparse parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_script

pytestmark = pytest.mark.integration

PATCHED_LOGS = """
import sys
from configargparse import ArgumentParser
from toil.batchSystems import registry
from toil.batchSystems.singleMachine import SingleMachineBatchSystem
from toil.common import Toil
from toil.job import Job
from toil.statsAndLogging import StatsAndLogging

def log_with_formatting(jobStoreID, jobLogs, method=print, message=None):
    lines = "".join("\\t" + line for line in jobLogs)
    method("Received logs from jobStoreID %s:\\n\\n%s", jobStoreID, lines.rstrip())

StatsAndLogging.logWithFormatting = staticmethod(log_with_formatting)     # as toil_container does


class CountingBatchSystem(SingleMachineBatchSystem):
    def issue(self, job):
        print("ISSUED", job.name, file=sys.stderr, flush=True)
        super().issue(job)

registry.add_batch_system_factory("counting", lambda: CountingBatchSystem)

def explode(job):
    print("about to fail", flush=True)
    raise RuntimeError("Boom!")

if __name__ == "__main__":
    parser = ArgumentParser()
    Job.Runner.addToilOptions(parser)
    parser.add_argument("--extra", default="x")
    options = parser.parse_args()
    print("OPTIONS", options.slurm_partition, options.slurm_time, options.retry_backoff_seconds, options.extra)
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(explode))
"""


def test_replaced_log_formatting_a_registered_batch_system_and_toils_option_names(tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(PATCHED_LOGS)
    p = run_script(
        script,
        f"file:{tmp_path / 'js'}",
        "--batchSystem",
        "counting",
        "--retryCount",
        "0",
        "--slurmPartition",
        "main",
        "--slurmTime",
        "1-0",
        "--retryBackoffSeconds",
        "0.5",
        "--extra",
        "y",
        "--disableProgress",
        timeout=120,
    )
    assert p.returncode == 1, p.stderr[-3000:]
    assert "OPTIONS main 86400 0.5 y" in p.stdout
    assert "ISSUED explode" in p.stderr  # the registered batch system ran the job
    assert "Received logs from jobStoreID Log from job 'explode'" in p.stderr and "\tabout to fail" in p.stderr
    assert "=========>" not in p.stderr  # the built-in formatting was replaced
    assert "Boom!" in p.stderr.strip().splitlines()[-1]


def test_a_bad_slurm_time_is_one_line(tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(PATCHED_LOGS)
    p = run_script(script, f"file:{tmp_path / 'js'}", "--slurmTime", "soon", timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "--slurmTime" in p.stderr and "soon" in p.stderr.strip().splitlines()[-1]


def test_lsf_batch_system_subclass_is_refused_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "lsf_flow.py"
    script.write_text(
        PATCHED_LOGS.replace(
            "from toil.batchSystems.singleMachine import SingleMachineBatchSystem",
            "from toil.batchSystems.lsf import LSFBatchSystem",
        ).replace("SingleMachineBatchSystem", "LSFBatchSystem")
    )
    p = run_script(script, f"file:{tmp_path / 'js'}", "--batchSystem", "counting", timeout=60)
    last = p.stderr.strip().splitlines()[-1]
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr[-3000:]
    assert "LSF batch system is not supported here" in last, last
