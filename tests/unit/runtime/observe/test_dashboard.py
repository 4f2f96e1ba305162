"""The --metrics server: the dashboard page, /api/series and /metrics from one port, its fallback when the
port is taken, and the Grafana dashboard and Prometheus configuration shipped in contrib/."""

from __future__ import annotations

import json
import logging
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.unit.runtime.observe.dashboard_fixtures import node, snapshot
from toil.options.common import OPTIONS
from toil.provision.cli import ssh_parser
from toil.provision.remote import GRAFANA_PORT
from toil.runtime.observe.dashboard import DEFAULT_PORT
from toil.runtime.observe.metrics import MetricsSink, scrape

CONTRIB = Path(__file__).parents[4] / "contrib"


@pytest.fixture
def sink() -> Iterator[MetricsSink]:
    s = MetricsSink(0)
    yield s
    s.server.close()


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.headers["Content-Type"], r.read()


def served_metric_names(sink: MetricsSink) -> set[str]:
    _, text = get(sink.url)
    return set(re.findall(r"^# TYPE (\w+) ", text.decode(), re.M))


def test_one_port_serves_the_page_the_series_and_prometheus(sink: MetricsSink) -> None:
    assert sink.url == f"http://127.0.0.1:{sink.port}/metrics" and sink.dashboard_url.endswith(f":{sink.port}/")
    sink.publish(snapshot(1.0, queued=2, by_name={"work": {"issued": 3}}, nodes=[node("a", "t2.small", cpu=1.5)]))
    kind, page = get(sink.dashboard_url)
    assert kind.startswith("text/html") and b'createElement("canvas")' in page
    assert b'fetch("api/series"' in page
    assert not re.search(rb"(src|href)=\"https?://", page), "the page must not load anything from the internet"
    kind, body = get(sink.dashboard_url + "api/series")
    series = json.loads(body)
    assert kind == "application/json" and series["times"] == [1.0]
    assert {c["id"]: len(c["lines"]) for c in series["charts"]}["cpu"] == 1
    samples = scrape(sink.url)
    labels = "node=a,node_type=t2.small,preemptible=false"
    assert samples[f"toil_node_cpu_used_cores{{{labels}}}"] == 1.5
    assert samples[f"toil_node_cores{{{labels}}}"] == 4.0
    assert samples[f"toil_node_memory_used_bytes{{{labels}}}"] == float(1 << 30)
    assert samples[f"toil_node_memory_bytes{{{labels}}}"] == float(8 << 30)
    assert samples["toil_nodes{node_type=t2.small,state=up}"] == 1
    assert samples["toil_jobs_issued{job_name=work}"] == 3 and samples["toil_queue_size"] == 2
    with pytest.raises(urllib.error.HTTPError) as e:
        get(sink.dashboard_url + "nope")
    assert e.value.code == 404


def test_a_node_gone_ends_its_series_and_its_kind_counts_zero(sink: MetricsSink) -> None:
    sink.publish(snapshot(1.0, nodes=[node("a", "t2.small"), node("b", "t2.small")]))
    sink.publish(snapshot(2.0, nodes=[node("a", "t2.small", state="draining")]))
    samples = scrape(sink.url)
    assert not [k for k in samples if "node=b" in k]
    assert samples["toil_nodes{node_type=t2.small,state=up}"] == 0
    assert samples["toil_nodes{node_type=t2.small,state=draining}"] == 1


def test_a_taken_port_warns_once_and_serves_on_a_free_one(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="toil.runtime.observe.dashboard"):
            s = MetricsSink(port)
        try:
            assert s.port != port and s.port > 0
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert warnings == [f"Port {port} is taken: serving the dashboard and metrics on port {s.port} instead"]
            assert get(s.url)[1].startswith(b"# HELP")
        finally:
            s.server.close()


def test_the_default_port_is_the_one_ssh_cluster_forwards() -> None:
    (port,) = [o.default for o in OPTIONS if o.dest == "metricsPort"]
    assert port == DEFAULT_PORT == GRAFANA_PORT == ssh_parser().get_default("grafana_port") == 3000


def test_grafana_dashboard_queries_only_served_metrics(sink: MetricsSink) -> None:
    sink.publish(snapshot(1.0, nodes=[node("a")], by_name={"work": {"issued": 1}}))
    served = served_metric_names(sink)
    dashboard = json.loads((CONTRIB / "grafana" / "toil-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queried = {name for e in exprs for name in re.findall(r"\btoil_\w+", e)}
    assert len(dashboard["panels"]) >= 6 and len(queried) >= 8
    assert queried <= served, f"the dashboard queries series the leader does not serve: {queried - served}"
    wanted = {"toil_node_cpu_used_cores", "toil_node_memory_used_bytes", "toil_nodes", "toil_jobs_issued"}
    assert wanted | {"toil_jobs_failed_total", "toil_queue_size"} <= queried


def test_prometheus_config_scrapes_the_leaders_endpoint() -> None:
    config = yaml.safe_load((CONTRIB / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "toil"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"localhost:{DEFAULT_PORT}"]


def test_the_monitor_asks_for_nodes_only_for_the_dashboard_and_at_most_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from toil.runtime.batch.base import NodeInfo
    from toil.runtime.observe import monitor as monitor_module
    from toil.runtime.observe.monitor import Monitor

    asked: list[int] = []

    class Batch:
        def nodes(self) -> list[NodeInfo]:
            asked.append(1)
            if len(asked) == 2:
                raise RuntimeError("the engine did not answer")
            return [NodeInfo("n1", cores=2, memory=100, used_cores=1, node_type="m5.large")]

    class Leader:
        batch = Batch()

    clock = [100.0]
    monkeypatch.setattr(monitor_module.time, "monotonic", lambda: clock[0])
    m = Monitor(Leader(), [])  # type: ignore[arg-type]
    assert m._watched_nodes() == [] and not asked  # without --metrics the batch system is not asked
    m.watch_nodes = True
    (first,) = m._watched_nodes()
    assert (first.name, first.node_type, first.cpu_used) == ("n1", "m5.large", 1)
    clock[0] += monitor_module.NODE_SECONDS / 2
    assert m._watched_nodes() == [first] and len(asked) == 1  # too soon: the last answer
    clock[0] += monitor_module.NODE_SECONDS
    assert m._watched_nodes() == [first] and len(asked) == 2  # a failing engine: the last answer, no error
