"""The HTML report of 'toil stats --html', from hand-made stats logs."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser

from toil.runtime.observe.stats_html import (
    assign_lanes,
    fmt_bytes,
    fmt_seconds,
    layer_depths,
    layout_graph,
    render_html,
)
from toil.runtime.observe.statsdata import JobStat, WorkflowStats, parse_stats

SECTIONS = ("summary", "timeline", "graph", "slowest", "per-name")


def line(
    id: str,
    name: str,
    start: float,
    wall: float,
    *,
    cpu: float = 0.1,
    ok: bool = True,
    pid: int = 1,
    nxt: list[str] | None = None,
    display: str | None = None,
    maxrss: int = 2048,
) -> bytes:
    return (
        json.dumps(
            {
                "id": id,
                "name": name,
                "display": display or f"{name}-{id}",
                "start": start,
                "wall": wall,
                "cpu": cpu,
                "maxrss": maxrss,
                "ok": ok,
                "pid": pid,
                "host": "h",
                "next": nxt or [],
            }
        ).encode()
        + b"\n"
    )


def small_stats(with_run: bool = True) -> WorkflowStats:
    lines = [
        line("r", "root", 100.0, 1.0, nxt=["a", "b", "c", "f"]),
        line("a", "work", 101.0, 2.0, pid=2, nxt=["a2"]),
        line("b", "work", 101.1, 3.0, pid=3),
        line("c", "other", 101.2, 0.5, pid=4, ok=False),
        line("c", "other", 102.0, 0.5, pid=4),
        line("a2", "other", 103.0, 0.3, pid=2),
        line("f", "final", 104.2, 0.2, pid=5),
    ]
    if with_run:
        lines.insert(
            0,
            json.dumps(
                {
                    "t": "run",
                    "batchSystem": "single_machine",
                    "defaultCores": 1,
                    "defaultMemory": 2**31,
                    "maxCores": 4,
                    "start": 99.5,
                    "attempt": 1,
                }
            ).encode()
            + b"\n",
        )
        lines.append(json.dumps({"t": "end", "attempt": 1, "end": 105.0}).encode() + b"\n")
    return parse_stats(lines)


class Rects(HTMLParser):
    """The attributes of <rect class="job"> elements, the ids of sections and nodes of the graph."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[dict[str, str]] = []
        self.sections: list[str] = []
        self.nodes = 0
        self.edge_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "rect" and a.get("class") == "job":
            self.jobs.append(a)
        elif tag == "section":
            self.sections.append(a.get("id", ""))
        elif tag == "g" and a.get("class") == "node":
            self.nodes += 1
        elif tag == "text" and a.get("class") == "edge-label":
            self.edge_labels += 1


def parsed(html: str) -> Rects:
    p = Rects()
    p.feed(html)
    return p


def test_sections_and_one_rect_per_job_attempt() -> None:
    stats = small_stats()
    html = render_html(stats, "My workflow")
    p = parsed(html)
    assert p.sections == list(SECTIONS)
    assert len(p.jobs) == len(stats.jobs) == 7
    assert html.startswith("<!DOCTYPE html>") and "<title>My workflow</title>" in html
    assert "single_machine" in html
    assert p.nodes == 6  # distinct jobs
    assert "collapsed" not in html


def test_summary_with_a_leader_run() -> None:
    html = render_html(small_stats(), "t")
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "<dt>Batch system</dt><dd>single_machine</dd>" in summary
    assert "<dt>Total runtime</dt><dd>5.5 s</dd>" in summary
    assert "<dt>Jobs</dt><dd>6</dd>" in summary
    assert "<dt>Max cores</dt><dd>4</dd>" in summary and "<dt>Default memory</dt><dd>2.0 GiB</dd>" in summary
    huge = parse_stats([json.dumps({"t": "run", "maxCores": 2**63 - 1}).encode() + b"\n"])
    assert "<dt>Max cores</dt><dd>unlimited</dd>" in render_html(huge, "t")


def test_summary_without_runs_says_unknown() -> None:
    html = render_html(small_stats(with_run=False), "t")
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "<dt>Batch system</dt><dd>unknown</dd>" in summary
    assert "<dt>Failed attempts</dt><dd>1</dd>" in summary
    assert "<dt>Job attempts</dt><dd>7</dd>" in summary


def test_empty_stats_render() -> None:
    p = parsed(render_html(WorkflowStats([], [], []), "empty"))
    assert p.sections == list(SECTIONS) and p.jobs == []


def test_tables() -> None:
    html = render_html(small_stats(), "t")
    slowest = html.split('<section id="slowest">')[1].split("</section>")[0]
    assert slowest.count("<tr>") == 1 + 7
    assert slowest.index("work-b") < slowest.index("work-a") < slowest.index("root-r")  # by wall, descending
    assert "FAILED" in slowest
    per_name = html.split('<section id="per-name">')[1].split("</section>")[0]
    assert per_name.count("<tr>") == 1 + 4  # root, work, other, final
    assert per_name.count("<th>") == 2 + 4 * 5


def lanes_never_overlap(jobs: list[JobStat], lanes: list[int]) -> None:
    by_lane: dict[int, list[JobStat]] = {}
    for j, lane in zip(jobs, lanes):
        by_lane.setdefault(lane, []).append(j)
    for js in by_lane.values():
        js.sort(key=lambda j: j.start)
        for a, b in zip(js, js[1:]):
            assert a.end <= b.start


def test_assign_lanes_packs_without_overlap() -> None:
    rng = random.Random(4)
    jobs = [JobStat(str(i), "n", "n", rng.uniform(0, 100), rng.uniform(0, 10), 0, 0, True, "h:1") for i in range(500)]
    lanes = assign_lanes(jobs)
    lanes_never_overlap(jobs, lanes)
    # greedy packing uses exactly as many lanes as the most jobs running at once
    events = sorted([(j.start, 1) for j in jobs] + [(j.end, -1) for j in jobs], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert max(lanes) + 1 == peak


def test_assign_lanes_reuses_a_lane_when_a_job_ends() -> None:
    jobs = [
        JobStat("a", "n", "n", 0, 1, 0, 0, True, "h:1"),
        JobStat("b", "n", "n", 1, 1, 0, 0, True, "h:1"),
        JobStat("c", "n", "n", 0.5, 2, 0, 0, True, "h:1"),
    ]
    assert assign_lanes(jobs) == [0, 0, 1]
    assert assign_lanes([]) == []


def test_timeline_rects_do_not_overlap_within_a_lane() -> None:
    p = parsed(render_html(small_stats(), "t"))
    rows: dict[str, list[tuple[float, float]]] = {}
    for r in p.jobs:
        rows.setdefault(r["y"], []).append((float(r["x"]), float(r["width"])))
    assert len(rows) == 3  # root, then a, b, c concurrently (a2, the retry of c and f reuse slots)
    for spans in rows.values():
        spans.sort()
        for (x1, w1), (x2, _) in zip(spans, spans[1:]):
            assert x1 + w1 <= x2 + 1e-6


def test_big_timeline_draws_only_the_longest() -> None:
    lines = [line(str(i), "n", i * 0.01, 1 + (i % 97), pid=i % 8) for i in range(5200)]
    html = render_html(parse_stats(lines), "t")
    p = parsed(html)
    assert len(p.jobs) == 5000
    assert "only the 5000 longest" in html


def test_layers_by_longest_path_and_cycles() -> None:
    depth = layer_depths(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")])
    assert depth == {"a": 0, "b": 1, "c": 2, "d": 3}
    depth = layer_depths(["x", "y"], [("x", "y"), ("y", "x"), ("x", "x")])  # collapsed graphs may cycle
    assert depth == {"x": 0, "y": 1}
    place = layout_graph(["r", "p", "q"], [("r", "p"), ("r", "q")])
    assert place == {"r": (0, 0), "p": (1, 0), "q": (1, 1)}
    assert place == layout_graph(["r", "p", "q"], [("r", "p"), ("r", "q")])  # deterministic


def test_big_graph_collapses_to_job_names() -> None:
    lines = [line("root", "root", 0, 1, nxt=[f"a{i}" for i in range(200)])]
    lines += [line(f"a{i}", "fan", 1, 1, nxt=[f"b{i}"]) for i in range(200)]
    lines += [line(f"b{i}", "leaf", 2, 1) for i in range(200)]
    html = render_html(parse_stats(lines), "t")
    p = parsed(html)
    assert p.nodes == 3
    assert p.edge_labels == 2
    assert "collapsed to one node per job name" in html
    assert re.search(r'class="edge-label"[^>]*>200<', html)


def test_user_strings_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    lines = [line("x", evil, 0, 1, display=evil + '"&'), line("y", "ok", 1, 1)]
    html = render_html(parse_stats(lines), evil)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"&amp;' not in html and "&quot;&amp;" in html


def test_no_external_references() -> None:
    for stats in (small_stats(), parse_stats([line(str(i), f"n{i % 3}", i, 1, nxt=[str(i + 1)]) for i in range(400)])):
        html = render_html(stats, "t")
        rest = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in rest and "https://" not in rest
        assert "<script" not in rest and "<link" not in rest


def test_formatting() -> None:
    assert fmt_seconds(0.1234) == "0.123 s"
    assert fmt_seconds(12.34) == "12.3 s"
    assert fmt_seconds(245) == "4m 05s"
    assert fmt_seconds(7384) == "2h 03m 04s"
    assert fmt_bytes(512) == "512 B" and fmt_bytes(1536) == "1.5 KiB" and fmt_bytes(20 * 2**20) == "20.0 MiB"
