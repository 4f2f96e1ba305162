"""``_toil_worker``: run one issued job in a fresh process (batch systems other than single_machine).

Usage: ``_toil_worker JOBSTORE MESSAGE``: MESSAGE names the job's message in the job store (what a remote
batch system wrote there), or is the path of a message file. The message is the one the leader hands the
fork server locally. The user's code comes from the job store, where the leader shipped it
(runtime/worker/deploy.py); where it shipped none, a ``main`` entry names the leader's ``__main__`` script,
which is imported so jobs pickled from it resolve.
"""

from __future__ import annotations

import sys

from toil.runtime.errors import install_excepthook
from toil.runtime.worker.bootstrap import adopt_main_module

__all__ = ["adopt_main_module", "main"]


def main(argv: list[str] | None = None) -> int:
    install_excepthook()
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        sys.stderr.write("usage: _toil_worker JOBSTORE MESSAGE_NAME\n")
        return 2
    from toil.runtime.worker.attempt import run_attempt
    from toil.runtime.worker.bootstrap import bootstrap_worker, open_worker_job_store, read_worker_message

    js = open_worker_job_store(argv[0])
    message = read_worker_message(js, argv[1])
    env = bootstrap_worker(js, message.get("main"))
    code, _ = run_attempt(env.job_store, env.config, message, env.workflow_dir)
    return code


if __name__ == "__main__":
    sys.exit(main())
