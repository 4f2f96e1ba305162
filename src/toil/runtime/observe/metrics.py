"""``--metrics``: the workflow's counters on a Prometheus endpoint on localhost (prometheus-client)."""

from __future__ import annotations

import logging

from toil.runtime.observe.snapshot import Snapshot
from toil.runtime.scheduling import JOB_STATES

log = logging.getLogger(__name__)


class MetricsSink:
    """Serves ``toil_jobs_*`` gauges and counters on http://127.0.0.1:PORT/metrics (PORT 0: any free port)."""

    def __init__(self, port: int = 0) -> None:
        from prometheus_client import CollectorRegistry, Gauge, start_http_server

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
        self._names_seen: set[str] = set()
        self.server, self.thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        log.info("Serving workflow metrics on %s", self.url)

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

    def close(self, snapshot: Snapshot) -> None:
        self.publish(snapshot)
        self.server.shutdown()
        self.server.server_close()

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
