"""``toil debug-job JOBSTORE JOB``: rerun one job in the foreground, its inputs read from the job store.

The run leaves no result for a leader to pick up, so the workflow's state is
unchanged: after fixing the cause, resume the workflow with --restart.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from typing import Any

from toil.cli.utility import open_existing_job_store, utility_parser
from toil.exceptions import ToilUserError


def parser() -> argparse.ArgumentParser:
    p = utility_parser(
        "toil debug-job",
        "Run one job of a stopped workflow again, in this process, so it can be debugged (e.g. with breakpoints).",
        log_level="INFO",
    )
    p.add_argument(
        "job",
        help="The job: its id (see 'toil status --failed'), or its name if that is unique "
        "among the workflow's unfinished jobs.",
    )
    p.add_argument("--printJobInfo", action="store_true", help="Print the job's description and do not run it.")
    return p


class _NoResultSink:
    """A debug run must not leave a result that a restarted leader would take for a real one."""

    def progress(self, token: str, result: dict[str, Any]) -> None:
        pass

    def finish(self, token: str, data: bytes) -> None:
        pass


def main(argv: list[str]) -> int:
    from toil.runtime.observe.status import leader_alive, replay

    args = parser().parse_args(argv)
    js = open_existing_job_store(args.jobStore)
    meta = js.read_meta()
    state = replay(js)
    node = find_node(state, args.job, js.locator)
    if args.printJobInfo:
        print(json.dumps(job_info(state, node), indent=2))
        return 0
    if leader_alive(js.leader_info(), None):
        raise ToilUserError(
            f"a leader is running the workflow in {js.locator}: stop it ('toil kill') before debugging one of its jobs"
        )
    values = state.values_for(node.spec.reads) if state is not None else {}
    return run_node(js, meta, node, args.logLevel, values)


def find_node(state: Any, wanted: str, locator: str) -> Any:
    """The unfinished node with id ``wanted``, or the one whose name or display name it is."""
    nodes = state.nodes if state is not None else {}
    if wanted in nodes:
        return nodes[wanted]
    matches = [n for n in nodes.values() if wanted in (n.spec.name, n.spec.display, n.spec.label())]
    failed = [n for n in matches if n.id in state.failed] if state is not None else []
    if len(failed) == 1 or len(matches) == 1:
        return (failed or matches)[0]
    if matches:
        raise ToilUserError(
            f"{len(matches)} unfinished jobs in {locator} are called {wanted!r}; give a job id "
            f"(see 'toil status --failed')"
        )
    hint = ", ".join(f"{label} ({i})" for i, label in list(state.failed.items())[:5]) if state else ""
    raise ToilUserError(
        f"no unfinished job {wanted!r} in {locator}"
        + (f"; failed jobs: {hint}" if hint else " (finished jobs cannot be rerun)")
    )


def job_info(state: Any, node: Any) -> dict[str, Any]:
    from toil.runtime.observe.status import status_name

    spec = node.spec.to_json()
    return {
        "id": node.id,
        "name": node.spec.name,
        "display": node.spec.display,
        "kind": node.spec.kind,
        "status": "failed" if node.id in state.failed else status_name(node.status),
        "attempts_made": node.epoch,
        "tries_left": node.tries_left,
        "resources": node.spec.resources.to_json(),
        "predecessors": node.preds,
        "children": node.children,
        "followons": node.followons,
        "spec": spec,
    }


def run_node(js: Any, meta: dict[str, Any], node: Any, log_level: str, values: dict[str, bytes]) -> int:
    """Run the node here; ``values``: the return values it reads that the journal holds."""
    from toil.compiler.ir import encode_value
    from toil.runtime.scheduling import attempt_resources
    from toil.runtime.worker.attempt import run_attempt
    from toil.runtime.worker.bootstrap import bootstrap_worker

    message = {
        "token": f"{node.id}.debug",
        "spec": node.spec.to_json(),
        "epoch": node.epoch,
        "alloc": attempt_resources(node).to_json(),
        "next": None,
        "vals": {k: encode_value(v) for k, v in values.items()},
    }
    with tempfile.TemporaryDirectory(prefix="toil-debug-job-") as workflow_dir:
        env = bootstrap_worker(
            js,
            meta.get("main"),
            log_level=log_level,
            workflow_dir=workflow_dir,
            prefer_local=True,  # the user's code as it is here (being debugged), else as the leader shipped it
            disableChaining=True,
        )
        sys.stderr.write(f"Running job {node.spec.label()} (id {node.id}) in the foreground\n")
        code, _ = run_attempt(env.job_store, env.config, message, env.workflow_dir, sink=_NoResultSink())  # type: ignore[arg-type]
    verdict = "succeeded" if code == 0 else "failed"
    sys.stderr.write(
        f"Job {node.spec.label()} {verdict} (the workflow's state is unchanged; resume it with --restart)\n"
    )
    return code
