"""``toil stats JOBSTORE``: what ``--stats`` recorded, in Toil's table, as JSON, or as an HTML report."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from toil.cli.utility import open_existing_job_store, utility_parser
from toil.exceptions import ToilUserError
from toil.runtime.observe.statsdata import FIELDS, Category, Summary, WorkflowStats

SORT_CATEGORIES = ["time", "clock", "wait", "memory", "alpha", "count"]
SORT_FIELDS = ["min", "med", "ave", "max", "total"]
TITLES = {"time": "Time", "clock": "Clock", "wait": "Wait", "memory": "Memory"}
COLUMN = 8


def parser() -> argparse.ArgumentParser:
    p = utility_parser(
        "toil stats",
        "Report the statistics a workflow run with --stats recorded: per job name, "
        "count, wall time, CPU time, wait and memory.",
    )
    p.add_argument("--raw", action="store_true", help="Print the statistics as JSON.")
    p.add_argument(
        "--pretty",
        "--human",
        dest="pretty",
        action="store_true",
        help="Print times and memory in human units (1h02m, 1.5 GiB).",
    )
    p.add_argument(
        "--sortCategory",
        default="time",
        choices=SORT_CATEGORIES,
        help="Order job names by this measure (alpha: by name; count: by number). Default: time.",
    )
    p.add_argument(
        "--sortField", default="med", choices=SORT_FIELDS, help="Order by this statistic of the measure. Default: med."
    )
    p.add_argument(
        "--sortReverse", "--reverseSort", dest="sortReverse", action="store_true", help="Order from the largest down."
    )
    p.add_argument("--outputFile", metavar="PATH", help="Write the report to PATH instead of standard output.")
    p.add_argument(
        "--html",
        metavar="REPORT.html",
        help="Also write a self-contained HTML report: a timeline per worker slot, the job graph, "
        "the slowest jobs and per-name statistics.",
    )
    return p


def main(argv: list[str]) -> int:
    from toil.runtime.observe.statsdata import load_stats

    args = parser().parse_args(argv)
    js = open_existing_job_store(args.jobStore)
    stats = load_stats(js)
    if args.html:
        from toil.runtime.observe.stats_html import render_html

        _write(args.html, render_html(stats, title=f"Toil workflow {js.locator}"))
    text = json.dumps(raw_report(stats), indent=2) + "\n" if args.raw else table(stats, args)
    if args.outputFile:
        _write(args.outputFile, text)
    elif not (args.html and not args.raw):
        sys.stdout.write(text)
    if args.html:
        sys.stderr.write(f"Wrote the HTML report {args.html}\n")
    return 0


def _write(path: str, text: str) -> None:
    """Write a report whole (a temporary file renamed into place), or straight into a device or pipe."""
    import os
    import stat

    try:
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            with open(path, "w", encoding="utf-8") as f:  # /dev/stdout, a fifo: never replace it
                f.write(text)
            return
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise ToilUserError(f"cannot write {path}: {e.strerror}") from None


# ---------------------------------------------------------------------------- JSON
def _category_json(cat: Category) -> dict[str, Any]:
    out: dict[str, Any] = {"total_number": cat.count}
    for f in FIELDS:
        s = cat.summaries[f]
        out.update(
            {f"min_{f}": s.min, f"median_{f}": s.med, f"average_{f}": s.ave, f"max_{f}": s.max, f"total_{f}": s.total}
        )
    return out


def raw_report(stats: WorkflowStats) -> dict[str, Any]:
    """The statistics as JSON data; ``cluster`` only when an autoscaled run recorded its nodes."""
    report = _raw_jobs(stats)
    if stats.cluster is not None:
        report["cluster"] = stats.cluster.to_dict()
    return report


def _raw_jobs(stats: WorkflowStats) -> dict[str, Any]:
    """The job statistics as JSON data."""
    settings = stats.settings
    per_worker = [float(len(jobs)) for jobs in stats.workers().values()]
    jobs_per_worker = Summary.of(per_worker)
    return {
        "batch_system": settings.get("batchSystem"),
        "default_cores": settings.get("defaultCores"),
        "default_memory": settings.get("defaultMemory"),
        "max_cores": settings.get("maxCores"),
        "total_clock": sum(j.cpu for j in stats.jobs),
        "total_run_time": stats.total_runtime(),
        "worker": _category_json(stats.worker_category()),
        "jobs_per_worker": {
            "min": jobs_per_worker.min,
            "median": jobs_per_worker.med,
            "average": jobs_per_worker.ave,
            "max": jobs_per_worker.max,
        },
        "jobs": _category_json(Category.of("Job", stats.jobs)),
        "job_types": {
            name: _with_containers(_category_json(Category.of(name, jobs)), jobs)
            for name, jobs in stats.by_name().items()
        },
        "containers": _container_counts(stats.jobs),
        "failed_attempts": sum(1 for j in stats.jobs if not j.ok),
    }


def _containers_of(jobs: list[Any]) -> list[str]:
    """The containers (ENGINE IMAGE) the jobs ran in, each once, in order of first use."""
    seen: dict[str, None] = {}
    for job in jobs:
        for use in filter(None, job.container.split(", ")):
            seen.setdefault(use, None)
    return list(seen)


def _with_containers(report: dict[str, Any], jobs: list[Any]) -> dict[str, Any]:
    used = _containers_of(jobs)
    if used:
        report["containers"] = used
    return report


def _container_counts(jobs: list[Any]) -> dict[str, int]:
    """Job attempts per container engine."""
    counts: dict[str, int] = {}
    for job in jobs:
        for engine in {use.split(" ", 1)[0] for use in job.container.split(", ") if use}:
            counts[engine] = counts.get(engine, 0) + 1
    return counts


# ---------------------------------------------------------------------------- the table
def _number(value: float, pretty: bool, kind: str) -> str:
    if kind == "memory":
        return _bytes(value, pretty)
    if pretty:
        return _duration(value)
    return f"{value:.2f}"


def _bytes(value: float, pretty: bool) -> str:
    units = ["B", "K", "M", "G", "T", "P"]
    i = 0
    while abs(value) >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    suffix = units[i] + ("iB" if pretty and i else "")
    return f"{value:.2f}{suffix}" if i else f"{value:.0f}{suffix}"


def _duration(seconds: float) -> str:
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.2f}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{sign}{int(minutes)}m{secs:02.0f}s"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{int(hours)}h{int(minutes):02d}m"


def _block(cat: Category, args: Any, indent: str) -> list[str]:
    """Toil's block: a Count column, then min/med/ave/max/total of Time, Clock, Wait and Memory."""
    sort_cat, sort_field = args.sortCategory, args.sortField
    head, sub, row = [f"{indent}   Count"], [f"{indent}       n"], [f"{indent}{cat.count:>8}"]
    for f in FIELDS:
        title = TITLES[f] + ("*" if f == sort_cat else "")
        head.append(f"{title:>{5 * (COLUMN + 1) - 1}}")
        names = [n + ("*" if f == sort_cat and n == sort_field else "") for n in SORT_FIELDS]
        sub.append(" ".join(f"{n:>{COLUMN}}" for n in names))
        s = cat.summaries[f]
        row.append(" ".join(f"{_number(v, args.pretty, f):>{COLUMN}}" for v in (s.min, s.med, s.ave, s.max, s.total)))
    return [" | ".join(head), " | ".join(sub), " | ".join(row)]


def _sort_key(args: Any) -> Any:
    def key(cat: Category) -> Any:
        if args.sortCategory == "alpha":
            return cat.name
        if args.sortCategory == "count":
            return cat.count
        return getattr(cat.summaries[args.sortCategory], args.sortField)

    return key


def table(stats: WorkflowStats, args: Any) -> str:
    """Toil's table, then the cluster's node-hours and cost if an autoscaled run recorded them."""
    cluster = stats.cluster.lines() if stats.cluster is not None else []
    if not stats.runs and not stats.jobs and cluster:  # no --stats: only the cluster was recorded
        return "\n".join(cluster) + "\n"
    return _job_table(stats, args) + "".join(line + "\n" for line in cluster)


def _job_table(stats: WorkflowStats, args: Any) -> str:
    """Toil's table: settings, workers, jobs, then each job name."""
    settings = stats.settings
    max_cores = settings.get("maxCores")
    max_text = "unlimited" if max_cores is None or float(max_cores) >= 2**62 else f"{float(max_cores):g}"
    memory = settings.get("defaultMemory")
    lines = [
        f"Batch System: {settings.get('batchSystem', 'unknown')}",
        f"Default Cores: {float(settings.get('defaultCores', 1)):g}  Default Memory: "
        f"{_bytes(float(memory), args.pretty) if memory is not None else 'unknown'}",
        f"Max Cores: {max_text}",
        f"Total Clock: {_number(sum(j.cpu for j in stats.jobs), args.pretty, 'time')}  "
        f"Total Runtime: {_number(stats.total_runtime(), args.pretty, 'time')}",
        "Worker",
    ]
    lines += _block(stats.worker_category(), args, "")
    per_worker = Summary.of([float(len(jobs)) for jobs in stats.workers().values()])
    lines += [
        "Job",
        " Worker Jobs  |     min    med    ave    max",
        f"              | {per_worker.min:>7g}{per_worker.med:>7g}{per_worker.ave:>7.3g}{per_worker.max:>7g}",
    ]
    lines += _block(Category.of("Job", stats.jobs), args, "")
    groups = stats.by_name()
    categories = [Category.of(name, jobs) for name, jobs in groups.items()]
    for cat in sorted(categories, key=_sort_key(args), reverse=args.sortReverse):
        used = _containers_of(groups[cat.name])
        lines.append(f" {cat.name}" + (f"  (container: {'; '.join(used)})" if used else ""))
        lines += _block(cat, args, "  ")
    return "\n".join(lines) + "\n"
