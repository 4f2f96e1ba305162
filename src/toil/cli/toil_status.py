"""``toil status JOBSTORE``: where a workflow stands, while it runs or after it stopped."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from toil.cli.utility import open_existing_job_store, utility_parser

# Toil's words for --printStatus
STATE_WORDS = {
    "running": "RUNNING",
    "completed": "COMPLETED",
    "failed": "ERROR",
    "stopped": "STOPPED",
    "crashed": "ERROR",
    "not started": "QUEUED",
}
DOT_COLOURS = {
    "waiting": "grey",
    "ready": "cyan",
    "issued": "yellow",
    "ran": "green",
    "failed": "red",
    "stopped": "orange",
}


def parser() -> argparse.ArgumentParser:
    p = utility_parser("toil status", "Report the status of a workflow from its job store.")
    p.add_argument(
        "--failed",
        "--failedJobs",
        dest="failed",
        action="store_true",
        help="List the jobs that failed, with their names and why.",
    )
    p.add_argument(
        "--printLogs", "--logs", dest="printLogs", action="store_true", help="Print the logs of the failed jobs."
    )
    p.add_argument(
        "--printDot",
        "--dot",
        dest="printDot",
        action="store_true",
        help="Print the live job graph (jobs not yet finished) in Graphviz dot format.",
    )
    p.add_argument(
        "--printStatus",
        "--status",
        dest="printStatus",
        action="store_true",
        help="Say whether the workflow is RUNNING, COMPLETED or ERROR (failed), and list running jobs.",
    )
    p.add_argument("--failIfNotComplete", action="store_true", help="Exit with status 1 unless the workflow completed.")
    return p


def main(argv: list[str]) -> int:
    from toil.runtime.observe.status import read_workflow_status

    args = parser().parse_args(argv)
    js = open_existing_job_store(
        args.jobStore, " (finished workflows are deleted unless run with --clean never or --stats)"
    )
    st = read_workflow_status(js)
    out = sys.stdout
    if args.printStatus:
        out.write(f"{STATE_WORDS.get(st.state, st.state.upper())}\n")
        for job in st.issued_jobs:
            if job.get("running"):
                bid = f" (batch system ID {job['batch_id']})" if job.get("batch_id") else ""
                out.write(f"  running: {job['label']}{bid}\n")
    elif not (args.printDot or args.printLogs or args.failed):
        _print_summary(st, out)
    if args.failed:
        _print_failed(st, out)
    if args.printLogs:
        _print_logs(js, st, out)
    if args.printDot:
        _print_dot(js, out)
    if args.failIfNotComplete and st.state != "completed":
        sys.stderr.write(f"toil status: error: the workflow in {js.locator} has not completed (it is {st.state})\n")
        return 1
    return 0


def _print_summary(st: Any, out: Any) -> None:
    c = st.counts
    who = ""
    if st.leader:
        who = f" (leader pid {st.leader.get('pid')} on {st.leader.get('host')}"
        who += ", " + st.batch_system + ")" if st.batch_system else ")"
    out.write(f"Workflow {st.workflow_id} in {st.locator}: {st.state}{who}\n")
    out.write(
        f"Jobs: {c['queued']} queued, {c['issued']} issued ({c['running']} running), {c['finished']} finished, "
        f"{c['failed']} failed, {c['waiting']} waiting for other jobs (or for their own successors), "
        f"{c['services']} services\n"
    )
    if st.metrics_url and st.state == "running":
        if st.metrics_url.endswith("/metrics"):  # one server: the dashboard at /, Prometheus at /metrics
            out.write(f"Dashboard: {st.metrics_url.removesuffix('metrics')}\n")
        out.write(f"Metrics: {st.metrics_url}\n")


def _print_failed(st: Any, out: Any) -> None:
    if not st.failed_jobs:
        out.write("No failed jobs.\n")
        return
    out.write(f"{len(st.failed_jobs)} failed job(s):\n")
    for job in st.failed_jobs:
        why = f": {job['why']}" if job.get("why") else ""
        out.write(f"  {job['label']} (id {job['id']}){why}\n")


def _print_logs(js: Any, st: Any, out: Any) -> None:
    if not st.failed_jobs:
        out.write("No failed jobs, so no logs to print.\n")
    for job in st.failed_jobs:
        text = js.read_log(job["id"])
        out.write(f"=== Log of failed job {job['label']} (id {job['id']}) ===\n")
        out.write(text.decode("utf-8", "replace") if text else "(no log was kept for this job)\n")
        if text and not text.endswith(b"\n"):
            out.write("\n")


def _print_dot(js: Any, out: Any) -> None:
    from toil.runtime.observe.status import replay, status_name

    state = replay(js)
    out.write("digraph toil_graph {\n  node [shape=box, style=filled];\n")
    nodes = state.nodes if state is not None else {}
    for node_id, node in nodes.items():
        label = node.spec.label().replace('"', "'")
        out.write(f'  "{node_id}" [label="{label}", fillcolor={DOT_COLOURS[status_name(node.status)]}];\n')
    for node_id, node in nodes.items():
        for succ in node.children + node.followons:
            if succ in nodes:
                style = "" if succ in node.children else " [style=dashed]"
                out.write(f'  "{node_id}" -> "{succ}"{style};\n')
    out.write("}\n")
