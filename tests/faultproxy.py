"""A fault-injecting HTTP proxy between the project and an S3 stand-in, on 127.0.0.1, for tests.

    proxy = FaultProxy(upstream_port=5000, seed=1, slowdown=0.05, error=0.03, drop_before=0.02,
                       drop_after=0.02, delay=0.05)
    proxy.start(); ... TOIL_S3_PORT=proxy.port ...; proxy.stop(); proxy.counts

Each request, by a seeded draw, is answered with 503 SlowDown or 500 InternalError (S3's XML error bodies)
without reaching the server, has its connection dropped before it is forwarded or after the server acted on
it (its answer lost: the case create-only writes must recognise as their own), is delayed, or passes through
untouched. ``counts`` says how many of each happened. Requests to moto's own API (``/moto-api``) pass.
"""

from __future__ import annotations

import collections
import http.client
import http.server
import random
import threading
import time

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "error": (500, "InternalError", "We encountered an internal error. Please try again."),
}


class FaultProxy:
    def __init__(self, upstream_port: int, seed: int = 0, **rates: float) -> None:
        self.upstream_port = upstream_port
        self.rates = {k: rates.get(k, 0.0) for k in ("slowdown", "error", "drop_before", "drop_after", "delay")}
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def draw(self, path: str) -> str:
        """The fault for one request ('pass' for none)."""
        if path.startswith("/moto-api"):
            return "pass"
        with self.lock:
            r = self.rng.random()
            for fault, rate in self.rates.items():
                if r < rate:
                    self.counts[fault] += 1
                    return fault
                r -= rate
            self.counts["pass"] += 1
            return "pass"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.draw(self.path)
                if fault in _ERRORS:
                    status, code, message = _ERRORS[fault]
                    xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    if self.command != "HEAD":  # a body after a HEAD's answer would be read as the next answer
                        self.wfile.write(xml)
                    return
                if fault == "drop_before":
                    self.close_connection = True
                    return
                if fault == "delay":
                    time.sleep(proxy.rng.uniform(0.02, 0.3))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if fault == "drop_after":  # the server acted; its answer is lost
                    self.close_connection = True
                    return
                self.send_response(response.status, response.reason)
                head = self.command == "HEAD"  # its Content-Length is the object's, with no body
                for key, value in response.getheaders():
                    if key.lower() not in _HOP and (head or key.lower() != "content-length"):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler
