"""A batch system whose workers cannot see the user's code: ``--batchSystem hidden_dir`` once this is imported.

Each job is ``python -m toil.cli.worker_main`` in a fresh process, as on a cluster node, started under
``unshare --mount`` with a tmpfs mounted over ``$TOIL_TEST_HIDE`` (the directory of the user's code), in the
working directory ``$TOIL_TEST_WORKER_CWD``, with ``$TOIL_TEST_WORKER_PYTHON`` and an environment without
PYTHONPATH (only the node's S3 settings, for an aws: job store): the only way its worker can import the user's
modules is the copy the leader shipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from toil.batchSystems.registry import add_batch_system_factory
from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchContext, BatchJob
from toil.runtime.batch.remote.base import WORKER_MODULES, JobState, Launch, RemoteBatchSystem

HIDE_AND_RUN = 'mount -t tmpfs toil-hidden "$1" && cd "$2" && shift 2 && exec "$@"'


class HiddenDirBatchSystem(RemoteBatchSystem):
    """Fresh worker processes on this machine, each in a mount namespace where the user's directory is empty."""

    name = "hidden_dir"
    supports_packing = False

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        self.hide = os.environ["TOIL_TEST_HIDE"]
        self.cwd = os.environ["TOIL_TEST_WORKER_CWD"]
        self.python = os.environ.get("TOIL_TEST_WORKER_PYTHON", sys.executable)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def check_engine(self) -> None:
        if shutil.which("unshare") is None:
            raise ToilUserError("the hidden_dir batch system needs unshare")

    def log_target(self, name: str) -> str:
        return os.path.join(self.workflow_dir, f"{name}.log")

    def submit(self, job: BatchJob, launch: Launch) -> str:
        command = [self.python, "-m", WORKER_MODULES[launch.kind], launch.job_store, launch.message]
        argv = ["unshare", "--mount", "--", "sh", "-c", HIDE_AND_RUN, "sh", self.hide, self.cwd, *command]
        env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
        # a cloud node's own credentials and endpoint (an instance profile, a pod's secret): not the user's code
        env.update({k: v for k, v in os.environ.items() if k.startswith(("AWS_", "TOIL_S3_"))})
        print("SUBMIT", job.token, file=sys.stderr, flush=True)
        with open(launch.log or os.devnull, "ab") as log:
            p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[str(p.pid)] = p
        return str(p.pid)

    def query(self) -> dict[str, JobState]:
        states = {}
        for batch_id, p in self.procs.items():
            code = p.poll()
            state = "running" if code is None else "done" if code == 0 else "failed"
            states[batch_id] = JobState(batch_id, state, code)
        return states

    def cancel(self, ids: list[str]) -> None:
        for batch_id in ids:
            p = self.procs.get(batch_id)
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


add_batch_system_factory("hidden_dir", lambda: HiddenDirBatchSystem)
