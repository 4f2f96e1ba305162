"""The dashboard page: self-contained HTML with a small script that polls ``api/series`` and draws each chart
on a <canvas> (no external files: a cluster's leader may have no internet).

Each chart is a ``<figure class="chart" id="chart-ID">`` whose ``data-points`` (values drawn), ``data-lines``
and ``data-max`` attributes say what it drew; ``<body data-samples=N data-state=S>`` counts the samples.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Toil dashboard</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
header { display: flex; gap: 2em; align-items: baseline; }
h1 { font-size: 1.4em; margin: 0.3em 0; }
#status { color: #555; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
figure.chart { margin: 0; padding: 0.6em; background: #fff; border: 1px solid #ddd; border-radius: 4px; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
canvas { width: 100%; height: 220px; display: block; }
ul.legend { list-style: none; padding: 0; margin: 0.4em 0 0; display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; }
ul.legend li::before { content: ""; display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em;
  background: var(--c); border-radius: 2px; }
.empty { color: #999; }
</style>
</head>
<body data-samples="0" data-state="loading">
<header><h1>Toil workflow <span id="workflow"></span></h1><span id="status">loading&hellip;</span></header>
<main id="charts"></main>
<script>
"use strict";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];
const W = 560, H = 220, PAD = {l: 64, r: 12, t: 10, b: 28};

function human(v, unit) {
  if (unit === "bytes") {
    const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(Math.round(v))) + " " + u[i];
  }
  const r = Math.round(v * 100) / 100;
  return unit ? r + " " + unit : String(r);
}

function niceStep(raw, integer) {
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

function axisStep(max, unit) {  // a round step for four grid lines above max: counts whole, bytes in 1024s
  if (unit !== "bytes") return niceStep(max / 4, unit === "");
  let base = 1;
  while (max / base >= 1024) base *= 1024;
  return niceStep(max / base / 4, false) * base;
}

function figureFor(chart) {
  let f = document.getElementById("chart-" + chart.id);
  if (!f) {
    f = document.createElement("figure");
    f.className = "chart";
    f.id = "chart-" + chart.id;
    const cap = document.createElement("figcaption");
    cap.textContent = chart.title;
    const canvas = document.createElement("canvas");
    canvas.width = W; canvas.height = H;
    const legend = document.createElement("ul");
    legend.className = "legend";
    f.append(cap, canvas, legend);
    document.getElementById("charts").appendChild(f);
  }
  return f;
}

function draw(chart, times) {
  const f = figureFor(chart);
  const g = f.querySelector("canvas").getContext("2d");
  let max = 0, points = 0;
  for (const line of chart.lines) for (const v of line.values) if (v !== null) { max = Math.max(max, v); points++; }
  const step = axisStep(max, chart.unit), top = step * Math.max(1, Math.ceil(max * 1.05 / step));
  const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
  const span = Math.max(t1 - t0, 1);
  const x = t => PAD.l + (W - PAD.l - PAD.r) * (t - t0) / span;
  const y = v => H - PAD.b - (H - PAD.t - PAD.b) * v / top;
  g.clearRect(0, 0, W, H);
  g.font = "11px sans-serif"; g.strokeStyle = "#e5e5e5"; g.fillStyle = "#666"; g.lineWidth = 1;
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = y(v);
    g.beginPath(); g.moveTo(PAD.l, yy); g.lineTo(W - PAD.r, yy); g.stroke();
    g.textAlign = "right"; g.fillText(human(v, chart.unit), PAD.l - 4, yy + 4);
  }
  g.textAlign = "center";
  for (let i = 0; i <= 4; i++) {
    const t = t0 + span * i / 4;
    g.fillText(i === 4 ? "now" : "-" + Math.round(t1 - t) + " s", x(t), H - 8);
  }
  const legend = f.querySelector("ul.legend");
  legend.replaceChildren();
  chart.lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length];
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2;
    g.beginPath();
    let pen = false;
    line.values.forEach((v, j) => {
      if (v === null) { pen = false; return; }
      if (pen) g.lineTo(x(times[j]), y(v)); else g.moveTo(x(times[j]), y(v));
      pen = true;
      if (times.length === 1) g.fillRect(x(times[j]) - 2, y(v) - 2, 4, 4);
    });
    g.stroke();
    const last = [...line.values].reverse().find(v => v !== null);
    const item = document.createElement("li");
    item.style.setProperty("--c", color);
    item.textContent = line.label + (last === undefined ? "" : ": " + human(last, chart.unit));
    legend.appendChild(item);
  });
  if (!chart.lines.length) {
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = "nothing yet";
    legend.appendChild(item);
  }
  f.dataset.points = points;
  f.dataset.lines = chart.lines.length;
  f.dataset.max = max;
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("api/series", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    const s = await response.json();
    document.getElementById("workflow").textContent = s.workflow_id;
    for (const chart of s.charts) draw(chart, s.times);
    document.body.dataset.samples = s.times.length;
    document.body.dataset.state = s.state;
    status.textContent = s.state + ", " + s.times.length + " samples every " + s.interval + " s, updated " +
      new Date(s.now * 1000).toLocaleTimeString();
  } catch (e) {
    document.body.dataset.state = "unreachable";
    status.textContent = "the leader does not answer (" + e.message + "); the workflow may have ended";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""
