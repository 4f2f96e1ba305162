"""The leader's ``--metrics`` web server: the live dashboard and its Prometheus endpoint, on one port.

* ``GET /``: the dashboard page (dashboard_page.py), self-contained; its script polls
* ``GET /api/series``: the time series of the run as JSON (series.py);
* ``GET /metrics``: the same figures for Prometheus (metrics.py registers them).

It binds 127.0.0.1 (on a cluster, ``toil ssh-cluster --grafana_port`` forwards the leader's port 3000).
If the port asked for is taken, it warns once and takes a free one; ``toil status`` shows where.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from toil.runtime.observe.dashboard_page import PAGE

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000  # Toil's dashboard port (its Grafana); --metricsPort's default
HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/api/series":
            self._send(200, "application/json", self.server.series_json())
        elif path == "/metrics":
            body, content_type = self.server.metrics_text()
            self._send(200, content_type, body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"Not found: try / (the dashboard) or /metrics\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("dashboard: " + format, *args)


class DashboardServer(ThreadingHTTPServer):
    """Serves the dashboard, its series and the Prometheus text on HOST:port in a daemon thread."""

    daemon_threads = True

    def __init__(
        self, port: int, series_json: Callable[[], bytes], metrics_text: Callable[[], tuple[bytes, str]]
    ) -> None:
        self.series_json = series_json
        self.metrics_text = metrics_text
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as e:
            if port == 0 or e.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            super().__init__((HOST, 0), _Handler)
            log.warning(
                "Port %d is taken: serving the dashboard and metrics on port %d instead", port, self.server_address[1]
            )
        self.port = int(self.server_address[1])
        self.url = f"http://{HOST}:{self.port}/"
        self.thread = threading.Thread(target=self.serve_forever, name="toil-dashboard", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
