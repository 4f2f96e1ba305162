"""The self-contained HTML report of ``toil stats --html REPORT.html``.

One HTML document with inline CSS and inline SVG (no scripts, no external
resources; hover tooltips are SVG ``<title>`` elements). Its sections, each a
``<section>`` with a fixed id: ``summary``, ``timeline`` (job attempts packed
into worker slots over time), ``graph`` (the job graph, laid out in layers by
depth), ``slowest`` (the slowest attempts) and ``per-name`` (statistics per
job name). Every string that comes from the workflow is escaped.
"""

from __future__ import annotations

import heapq
import math
import zlib
from html import escape
from typing import Iterable, Sequence

from toil.runtime.observe.clusterusage import hourly_text
from toil.runtime.observe.statsdata import FIELDS, Category, JobStat, WorkflowStats

MAX_TIMELINE_JOBS = 5000
MAX_GRAPH_NODES = 300
SLOWEST = 20
_LEGEND_NAMES = 30

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em;
       color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
section { margin-bottom: 2.5em; }
.scroll { overflow: auto; max-width: 100%; border: 1px solid #ddd; }
.note { color: #a33; font-style: italic; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .2em 1.5em; }
dl.summary dt { font-weight: 600; } dl.summary dd { margin: 0; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .2em .5em; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafafa; }
td.bad { color: #b00; font-weight: 600; }
.legend span { display: inline-block; margin: 0 1em .3em 0; font-size: .85em; }
.legend i { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: middle; }
svg text { font-family: inherit; }
rect.job:hover { stroke: #000; stroke-width: 1; }
g.node:hover rect { stroke-width: 2; }
"""


# -- formatting --------------------------------------------------------------------------------------------------
def fmt_seconds(seconds: float) -> str:
    """A duration for people: ``0.123 s``, ``12.3 s``, ``4m 05s``, ``2h 03m 04s``."""
    if seconds < 0:
        return "-" + fmt_seconds(-seconds)
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def fmt_bytes(n: float) -> str:
    """A size in binary units: ``512 B``, ``1.5 KiB``, ``20.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


def _fmt_field(field_name: str, value: float) -> str:
    return fmt_bytes(value) if field_name == "memory" else fmt_seconds(value)


def name_colour(name: str) -> str:
    """A stable colour for a job name (the same name gets the same colour in every report)."""
    hue = zlib.crc32(name.encode()) % 360
    return f"hsl({hue}, 60%, 62%)"


def _job_name(job: JobStat) -> str:
    return job.name or job.display


# -- timeline ----------------------------------------------------------------------------------------------------
def assign_lanes(jobs: Sequence[JobStat]) -> list[int]:
    """Greedy interval packing: a lane (worker slot) per job, in the order of *jobs*.

    Jobs are taken in start order; each goes to the lowest-numbered lane free at
    its start, so jobs whose intervals overlap never share a lane and the number
    of lanes is the largest number of jobs running at once.
    """
    lanes = [0] * len(jobs)
    busy: list[tuple[float, int]] = []  # (end, lane) of running jobs
    free: list[int] = []  # lanes free now, lowest first
    used = 0
    for i in sorted(range(len(jobs)), key=lambda i: (jobs[i].start, jobs[i].end, i)):
        job = jobs[i]
        while busy and busy[0][0] <= job.start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, used = used, used + 1
        lanes[i] = lane
        heapq.heappush(busy, (max(job.end, job.start), lane))
    return lanes


def _nice_step(span: float, ticks: int = 8) -> float:
    """A round tick interval (1, 2 or 5 times a power of ten) giving about *ticks* ticks over *span*."""
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover


def _time_axis(t_span: float, left: float, width: float, y: float) -> list[str]:
    """Tick marks and labels of the timeline's time axis (seconds since the first job)."""
    step = _nice_step(t_span)
    out = [f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" stroke="#444"/>']
    for k in range(int(t_span / step) + 1):
        t = k * step
        x = left + t / t_span * width
        out.append(
            f'<line class="tick" x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="#444"/>'
            f'<text x="{x:.1f}" y="{y + 17}" font-size="11" text-anchor="middle">{escape(fmt_seconds(t))}'
            f"</text>"
        )
    return out


def _job_rect(job: JobStat, x: float, y: float, w: float, h: float) -> str:
    label = f"{job.display} ({_job_name(job)}): {fmt_seconds(job.wall)}{'' if job.ok else ' - FAILED'} on {job.worker}"
    stroke = "" if job.ok else ' stroke="#c00" stroke-width="1.5"'
    return (
        f'<rect class="job" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" '
        f'fill="{name_colour(_job_name(job))}"{stroke}><title>{escape(label)}</title></rect>'
    )


def _timeline_svg(jobs: Sequence[JobStat], lanes: list[int]) -> str:
    left, width, top = 70.0, 1200.0, 10.0
    n_lanes = max(lanes) + 1
    lane_h = max(3.0, min(20.0, 600.0 / n_lanes))
    t0 = min(j.start for j in jobs)
    t_span = max(max(j.end for j in jobs) - t0, 1e-3)
    body: list[str] = []
    for job, lane in zip(jobs, lanes):
        x = left + (job.start - t0) / t_span * width
        w = max(0.5, job.wall / t_span * width)
        body.append(_job_rect(job, x, top + lane * lane_h, w, lane_h * 0.85))
    label_every = max(1, math.ceil(12 / lane_h))
    for lane in range(0, n_lanes, label_every):
        body.append(
            f'<text x="{left - 6}" y="{top + (lane + 0.7) * lane_h:.1f}" font-size="10" '
            f'text-anchor="end">slot {lane + 1}</text>'
        )
    axis_y = top + n_lanes * lane_h + 4
    body += _time_axis(t_span, left, width, axis_y)
    height, total_w = axis_y + 28, left + width + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {height:.0f}">{"".join(body)}</svg>'
    )


def _legend(names: Iterable[str]) -> str:
    unique = sorted(set(names))
    shown = [f'<span><i style="background:{name_colour(n)}"></i>{escape(n)}</span>' for n in unique[:_LEGEND_NAMES]]
    more = f"<span>… and {len(unique) - _LEGEND_NAMES} more</span>" if len(unique) > _LEGEND_NAMES else ""
    return f'<div class="legend">{"".join(shown)}{more}</div>'


def timeline_section(stats: WorkflowStats) -> str:
    """Job attempts over time, one row per worker slot (lanes from :func:`assign_lanes`)."""
    jobs = stats.jobs
    head = '<section id="timeline"><h2>Timeline</h2>'
    if not jobs:
        return head + "<p>No jobs were recorded.</p></section>"
    lanes = assign_lanes(jobs)
    note = ""
    if len(jobs) > MAX_TIMELINE_JOBS:
        keep = sorted(range(len(jobs)), key=lambda i: (-jobs[i].wall, i))[:MAX_TIMELINE_JOBS]
        keep.sort()
        note = (
            f'<p class="note">{len(jobs)} job attempts: only the {MAX_TIMELINE_JOBS} longest are drawn '
            f"(slots are computed from all of them).</p>"
        )
        jobs, lanes = [jobs[i] for i in keep], [lanes[i] for i in keep]
    intro = (
        f"<p>{len(stats.jobs)} job attempts in {max(lanes) + 1} worker slots (jobs running at the same "
        f"time get different slots). Hover over a job for its name and duration; failed attempts have a red "
        f"outline.</p>"
    )
    return (
        head
        + intro
        + note
        + _legend(_job_name(j) for j in jobs)
        + f'<div class="scroll">{_timeline_svg(jobs, lanes)}</div></section>'
    )


# -- job graph ---------------------------------------------------------------------------------------------------
def _topo_order(nodes: list[str], succ: dict[str, list[str]]) -> list[str]:
    """Reverse DFS post-order from the roots: a topological order once back edges (cycles) are ignored."""
    has_pred = {m for ms in succ.values() for m in ms}
    starts = [n for n in nodes if n not in has_pred] + [n for n in nodes if n in has_pred]
    seen: set[str] = set()
    post: list[str] = []
    for start in starts:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(succ[start]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(succ[child])))
                    break
            else:
                stack.pop()
                post.append(node)
    return post[::-1]


def layer_depths(nodes: list[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Each node's depth: the longest path to it from a root (edges closing a cycle are ignored)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a != b and b not in succ[a]:
            succ[a].append(b)
    order = _topo_order(nodes, succ)
    pos = {n: i for i, n in enumerate(order)}
    depth = dict.fromkeys(nodes, 0)
    for n in order:
        for m in succ[n]:
            if pos[m] > pos[n]:
                depth[m] = max(depth[m], depth[n] + 1)
    return depth


def layout_graph(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """(layer, row) of every node: layers by depth, rows ordered by the mean row of their parents."""
    depth = layer_depths(nodes, edges)
    index = {n: i for i, n in enumerate(nodes)}
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a != b:
            preds[b].append(a)
    layers: dict[int, list[str]] = {}
    for n in nodes:
        layers.setdefault(depth[n], []).append(n)
    place: dict[str, tuple[int, int]] = {}

    def key(n: str) -> tuple[float, int]:
        rows = [place[p][1] for p in preds[n] if p in place]
        return (sum(rows) / len(rows) if rows else -1.0, index[n])

    for d in sorted(layers):
        for row, n in enumerate(sorted(layers[d], key=key)):
            place[n] = (d, row)
    return place


def job_graph(stats: WorkflowStats) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], int], bool]:
    """Nodes (key -> (label, job name)), edges (with multiplicity) and whether collapsed to job names."""
    by_id: dict[str, JobStat] = {}
    for j in sorted(stats.jobs, key=lambda j: j.start):
        by_id[j.id] = j  # the last attempt names the job
    collapsed = len(by_id) > MAX_GRAPH_NODES
    key = {i: (_job_name(j) if collapsed else i) for i, j in by_id.items()}
    nodes: dict[str, tuple[str, str]] = {}
    for i, j in by_id.items():
        nodes.setdefault(key[i], (_job_name(j) if collapsed else j.display, _job_name(j)))
    pairs = {(i, n) for i, j in by_id.items() for n in j.next if n in by_id}
    edges: dict[tuple[str, str], int] = {}
    for a, b in sorted(pairs):
        edges[(key[a], key[b])] = edges.get((key[a], key[b]), 0) + 1
    return nodes, edges, collapsed


_NODE_W, _NODE_H, _COL_W, _ROW_H, _PAD = 180.0, 24.0, 250.0, 34.0, 20.0


def _node_xy(place: tuple[int, int]) -> tuple[float, float]:
    return _PAD + place[0] * _COL_W, _PAD + place[1] * _ROW_H


def _edge_svg(a: tuple[float, float], b: tuple[float, float], count: int, collapsed: bool) -> str:
    """An edge between two node corners: a curve to the next layer, an arc for longer or backward edges."""
    span = round((b[0] - a[0]) / _COL_W)
    if a == b:  # a job name whose jobs start jobs of the same name
        x, y = a[0] + _NODE_W, a[1] + _NODE_H / 2
        path = f"M{x:.1f},{y - 5:.1f} c28,-22 28,32 0,10"
        mid = (x + 24, y - 6)
    elif span == 1:
        x1, y1, x2, y2 = a[0] + _NODE_W, a[1] + _NODE_H / 2, b[0], b[1] + _NODE_H / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1 + 40:.1f},{y1:.1f} {x2 - 40:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        mid = ((x1 + x2) / 2, (y1 + y2) / 2 - 3)
    else:  # skipping layers: an arc under the nodes; closing a cycle: an arc over them
        below = span > 1
        x1, x2 = a[0] + _NODE_W * (0.6 if below else 0.4), b[0] + _NODE_W * (0.4 if below else 0.6)
        y1, y2 = (a[1] + _NODE_H, b[1] + _NODE_H) if below else (a[1], b[1])
        y = max(y1, y2) + 8 + 5 * min(abs(span), 6) if below else min(y1, y2) - 6 - 3 * min(abs(span), 4)
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y:.1f} {x2:.1f},{y:.1f} {x2:.1f},{y2:.1f}"
        mid = ((x1 + x2) / 2, y + (3.0 if below else 9.0))
    out = f'<path class="edge" d="{path}" fill="none" stroke="#777" marker-end="url(#arrow)"/>'
    if collapsed:
        out += (
            f'<text class="edge-label" x="{mid[0]:.1f}" y="{mid[1]:.1f}" font-size="10" '
            f'text-anchor="middle" fill="#333">{count}</text>'
        )
    return out


def _node_svg(xy: tuple[float, float], label: str, name: str, tip: str) -> str:
    short = label if len(label) <= 26 else label[:25] + "…"
    return (
        f'<g class="node"><title>{escape(tip)}</title>'
        f'<rect x="{xy[0]:.1f}" y="{xy[1]:.1f}" width="{_NODE_W}" height="{_NODE_H}" rx="4" '
        f'fill="{name_colour(name)}" stroke="#333"/>'
        f'<text x="{xy[0] + 6:.1f}" y="{xy[1] + 16:.1f}" font-size="11">{escape(short)}</text></g>'
    )


def _graph_svg(
    nodes: dict[str, tuple[str, str]], edges: dict[tuple[str, str], int], collapsed: bool, counts: dict[str, int]
) -> str:
    place = layout_graph(list(nodes), list(edges))
    xy = {n: _node_xy(p) for n, p in place.items()}
    parts = [_edge_svg(xy[a], xy[b], c, collapsed) for (a, b), c in edges.items()]
    for n, (label, name) in nodes.items():
        tip = f"{name}: {counts.get(name, 0)} jobs" if collapsed else f"{label} ({name})"
        parts.append(_node_svg(xy[n], label, name, tip))
    width = _PAD * 2 + (max(p[0] for p in place.values()) * _COL_W) + _NODE_W + 40
    height = _PAD * 2 + max(p[1] for p in place.values()) * _ROW_H + _NODE_H + 40
    arrow = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">{arrow}{"".join(parts)}</svg>'
    )


def graph_section(stats: WorkflowStats) -> str:
    """The job graph: one node per job (or per job name when there are too many jobs), edges to successors."""
    head = '<section id="graph"><h2>Job graph</h2>'
    nodes, edges, collapsed = job_graph(stats)
    if not nodes:
        return head + "<p>No jobs were recorded.</p></section>"
    distinct = len({j.id for j in stats.jobs})
    if collapsed:
        intro = (
            f'<p class="note">{distinct} distinct jobs (more than {MAX_GRAPH_NODES}): the graph is collapsed '
            f"to one node per job name; edge labels count the edges between the names.</p>"
        )
    else:
        intro = f"<p>{distinct} jobs, laid out left to right by depth (the longest path from a root job).</p>"
    counts = {name: len(js) for name, js in stats.by_name().items()}
    return head + intro + f'<div class="scroll">{_graph_svg(nodes, edges, collapsed, counts)}</div></section>'


# -- tables and summary ------------------------------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """A table; each cell is (text, css class); the text is escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{c}">{escape(t)}</td>' if c else f"<td>{escape(t)}</td>" for t, c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def slowest_section(stats: WorkflowStats) -> str:
    """The slowest job attempts by wall-clock time."""
    slow = sorted(stats.jobs, key=lambda j: -j.wall)[:SLOWEST]
    rows = [
        [
            (j.display, ""),
            (_job_name(j), ""),
            (fmt_seconds(j.wall), "num"),
            (fmt_seconds(j.cpu), "num"),
            (fmt_bytes(j.maxrss_kib * 1024), "num"),
            ("yes" if j.ok else "FAILED", "" if j.ok else "bad"),
        ]
        for j in slow
    ]
    table = _table(["Job", "Job name", "Wall time", "CPU time", "Peak memory", "OK"], rows)
    return f'<section id="slowest"><h2>Slowest {len(slow)} job attempts</h2>{table}</section>'


def per_name_section(stats: WorkflowStats) -> str:
    """One row per job name: count, then min/median/average/max/total of each measure."""
    cats = sorted(
        (Category.of(name, jobs) for name, jobs in stats.by_name().items()),
        key=lambda c: (-c.summaries["time"].total, c.name),
    )
    labels = {"time": "time", "clock": "CPU", "wait": "wait", "memory": "memory"}
    headers = ["Job name", "Count"] + [
        f"{labels[f]} {s}" for f in FIELDS for s in ("min", "med", "ave", "max", "total")
    ]
    rows = []
    for c in cats:
        row = [(c.name, ""), (str(c.count), "num")]
        for f in FIELDS:
            s = c.summaries[f]
            row += [(_fmt_field(f, v), "num") for v in (s.min, s.med, s.ave, s.max, s.total)]
        rows.append(row)
    intro = "<p>Time is wall-clock time, CPU is CPU time, wait is time minus CPU, memory is peak RSS.</p>"
    return (
        f'<section id="per-name"><h2>Per job name</h2>{intro}'
        f'<div class="scroll">{_table(headers, rows)}</div></section>'
    )


def summary_section(stats: WorkflowStats) -> str:
    """Batch system, job counts, failures, runtime and CPU of the whole workflow."""
    settings = stats.settings
    runtime = stats.total_runtime()
    if not stats.runs and stats.jobs:
        span = max(j.end for j in stats.jobs) - min(j.start for j in stats.jobs)
        runtime_text = f"{fmt_seconds(span)} (first job start to last job end; no leader run was recorded)"
    else:
        runtime_text = fmt_seconds(runtime)
    items = [
        ("Batch system", str(settings.get("batchSystem") or "unknown")),
        ("Jobs", str(len({j.id for j in stats.jobs}))),
        ("Job attempts", str(len(stats.jobs))),
        ("Failed attempts", str(sum(1 for j in stats.jobs if not j.ok))),
        ("Total runtime", runtime_text),
        ("Total CPU", fmt_seconds(sum(j.cpu for j in stats.jobs))),
        ("Worker processes", str(len(stats.workers()))),
        ("Leader runs", str(len(stats.runs)) if stats.runs else "unknown"),
    ]
    for key, label in (("defaultCores", "Default cores"), ("maxCores", "Max cores")):
        value = settings.get(key)
        if value is not None:
            unlimited = isinstance(value, (int, float)) and value >= 2**62
            items.append((label, "unlimited" if unlimited else str(value)))
    memory = settings.get("defaultMemory")
    if memory is not None:
        items.append(("Default memory", fmt_bytes(memory) if isinstance(memory, (int, float)) else str(memory)))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    return f'<section id="summary"><h2>Summary</h2><dl class="summary">{body}</dl></section>'


def cluster_section(stats: WorkflowStats) -> str:
    """Node-hours and cost per node type of an autoscaled run; nothing when none was recorded."""
    usage = stats.cluster
    if usage is None:
        return ""
    rows = [
        [
            (t.node_type, ""),
            ("spot" if t.preemptible else "on-demand", ""),
            (str(t.nodes), "num"),
            (f"{t.node_hours:.2f}", "num"),
            (f"${hourly_text(t.hourly)}", "num"),
            (f"${t.cost:.2f}", "num"),
        ]
        for t in usage.types
    ]
    table = _table(["Node type", "Kind", "Nodes", "Node-hours", "Price per hour", "Cost"], rows)
    intro = f"<p>Estimated cost ${usage.total_cost:.2f} (prices: {escape(usage.price_source)}).</p>"
    return f'<section id="cluster"><h2>Cluster</h2>{intro}{table}</section>'


def render_html(stats: WorkflowStats, title: str) -> str:
    """The whole report: one self-contained HTML document (inline CSS and SVG, nothing fetched)."""
    sections = [
        summary_section(stats),
        cluster_section(stats),
        timeline_section(stats),
        graph_section(stats),
        slowest_section(stats),
        per_name_section(stats),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(title)}</h1>\n" + "\n".join(filter(None, sections)) + "\n</body></html>\n"
    )
