"""``--metrics``: the workflow's figures as Prometheus gauges (prometheus-client) and as the dashboard's series.

One server (dashboard.py) on 127.0.0.1:--metricsPort (default 3000) serves the dashboard at ``/``, its series
at ``/api/series`` and these gauges at ``/metrics``: jobs issued/running and totals completed/failed by job
name, the queue size, cores in use, the workflow's jobs by state, and per node (labelled node, node_type,
preemptible) its cores, CPU in use, memory and memory in use, and the nodes by type and state.
contrib/grafana/toil-dashboard.json and contrib/prometheus/prometheus.yml are built on these names.
"""

from __future__ import annotations

import logging
from collections import Counter

from toil.runtime.observe.dashboard import DashboardServer
from toil.runtime.observe.series import SeriesBuffer
from toil.runtime.observe.snapshot import NodeSample, Snapshot
from toil.runtime.scheduling import JOB_STATES

log = logging.getLogger(__name__)


NODE_LABELS = ["node", "node_type", "preemptible"]


class MetricsSink:
    """Serves the dashboard on http://127.0.0.1:PORT/ and its gauges on /metrics (PORT 0: any free port)."""

    def __init__(self, port: int = 0, series: SeriesBuffer | None = None) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        self.registry = CollectorRegistry()
        by_name = ["job_name"]
        self.jobs = {
            kind: Gauge(f"toil_jobs_{kind}", f"Jobs {kind}, by job name", by_name, registry=self.registry)
            for kind in ("issued", "running")
        }
        # Totals since this leader started; exposed as gauges so a restarted leader may start again at 0.
        self.totals = {
            kind: Gauge(
                f"toil_jobs_{kind}_total",
                f"Job attempts {kind} since the leader started, by job name",
                by_name,
                registry=self.registry,
            )
            for kind in ("completed", "failed")
        }
        self.queue = Gauge("toil_queue_size", "Jobs ready to run but not yet running", registry=self.registry)
        self.cores = Gauge("toil_cores_in_use", "Cores requested by the running jobs", registry=self.registry)
        self.state = Gauge("toil_workflow_jobs", "The workflow's jobs by state", ["state"], registry=self.registry)
        self.node = {
            kind: Gauge(f"toil_node_{kind}", text, NODE_LABELS, registry=self.registry)
            for kind, text in (
                ("cores", "The node's cores"),
                ("cpu_used_cores", "Cores busy on the node (measured, else reserved by its jobs)"),
                ("memory_bytes", "The node's memory in bytes"),
                ("memory_used_bytes", "Bytes of memory in use on the node (measured, else reserved by its jobs)"),
            )
        }
        self.nodes = Gauge(
            "toil_nodes", "The batch system's nodes by type and state", ["node_type", "state"], registry=self.registry
        )
        self._names_seen: set[str] = set()
        self._nodes_seen: set[tuple[str, str, str]] = set()
        self._kinds_seen: set[tuple[str, str]] = set()
        self.series = series or SeriesBuffer()
        self.server = DashboardServer(port, lambda: self.series.series().to_json(), self._metrics_text)
        self.port = self.server.port
        self.dashboard_url = self.server.url
        self.url = f"{self.dashboard_url}metrics"
        log.info("Serving the workflow's dashboard on %s (Prometheus: %s)", self.dashboard_url, self.url)

    def _metrics_text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def publish(self, snapshot: Snapshot) -> None:
        for name, entry in snapshot.by_name.items():
            for kind, gauge in self.jobs.items():
                gauge.labels(job_name=name).set(entry.get(kind, 0))
            for kind, gauge in self.totals.items():
                gauge.labels(job_name=name).set(entry.get(kind, 0))
        for name in self._names_seen - set(snapshot.by_name):
            for gauge in self.jobs.values():
                gauge.labels(job_name=name).set(0)
        self._names_seen = set(snapshot.by_name) | self._names_seen
        self.queue.set(snapshot.counts["queued"])
        self.cores.set(snapshot.cores_in_use)
        for state in JOB_STATES:
            self.state.labels(state=state).set(snapshot.counts[state])
        self._publish_nodes(snapshot.nodes)
        self.series.add(snapshot)

    def _publish_nodes(self, nodes: list[NodeSample]) -> None:
        seen: set[tuple[str, str, str]] = set()
        kinds: Counter[tuple[str, str]] = Counter()
        for n in nodes:
            labels = (n.name, n.node_type, str(n.preemptible).lower())
            seen.add(labels)
            kinds[(n.node_type, n.state)] += 1
            for kind, value in (
                ("cores", n.cores),
                ("cpu_used_cores", n.cpu_used),
                ("memory_bytes", n.memory),
                ("memory_used_bytes", n.memory_used),
            ):
                self.node[kind].labels(*labels).set(value)
        for labels in self._nodes_seen - seen:  # a node gone: its series end
            for gauge in self.node.values():
                gauge.remove(*labels)
        self._nodes_seen = seen
        self._kinds_seen |= set(kinds)
        for node_type, state in self._kinds_seen:
            self.nodes.labels(node_type=node_type, state=state).set(kinds[(node_type, state)])

    def close(self, snapshot: Snapshot) -> None:
        self.publish(snapshot)
        self.series.add(snapshot, force=True)
        self.server.close()

    def __repr__(self) -> str:
        return f"MetricsSink({self.url})"


def scrape(url: str, timeout: float = 5.0) -> dict[str, float]:
    """Read a Prometheus text endpoint into {sample name with labels: value} (for tests and tools)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=timeout) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out
