"""``_toil_worker``: run one issued job in a fresh process (batch systems other than single_machine).

Usage: ``_toil_worker JOBSTORE MESSAGE_FILE``. The message is the one the
leader hands the fork server locally; a ``main`` entry names the leader's
``__main__`` script, which is imported so jobs pickled from it resolve.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys

from toil.runtime.errors import install_excepthook


def adopt_main_module(path: str | None) -> None:
    """Import the leader's main script under another name and let pickles of __main__ find it."""
    if not path or not os.path.isfile(path):
        return
    name = "_toil_user_main"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(module)
    sys.modules["__main__"] = module


def main(argv: list[str] | None = None) -> int:
    install_excepthook()
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        sys.stderr.write("usage: _toil_worker JOBSTORE MESSAGE_FILE\n")
        return 2
    from toil.runtime.config import Config
    from toil.runtime.jobstores import normalize_locator, open_job_store
    from toil.runtime.logs import configure
    from toil.runtime.worker import run_attempt

    js = open_job_store(normalize_locator(argv[0]))
    meta = js.read_meta()
    config = Config.from_json(meta["config"])
    js.config = config  # type: ignore[attr-defined]
    with open(argv[1], encoding="utf-8") as f:
        message = json.load(f)
    configure(config.logLevel)
    adopt_main_module(message.get("main"))
    workflow_dir = os.path.join(config.work_dir(), f"toil-{config.workflowID}")
    os.makedirs(workflow_dir, mode=0o700, exist_ok=True)
    code, _ = run_attempt(js, config, message, workflow_dir)
    return code


if __name__ == "__main__":
    sys.exit(main())
