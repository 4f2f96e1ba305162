"""An HTTP proxy between the provisioner and moto_server that fails or rewrites chosen AWS API calls.

    proxy = ApiFaultProxy(upstream_port=5000).start()
    proxy.fail("RequestSpotInstances", "UnauthorizedOperation", "You are not authorized", status=403)
    proxy.fail("RunInstances", "InsufficientInstanceCapacity", "...", when="m5.large", times=1)
    proxy.rewrite("DescribeSpotInstanceRequests", lambda body: ...)
    ... AWS_ENDPOINT_URL=http://127.0.0.1:{proxy.port} ...; proxy.stop(); proxy.seen (actions, in order)

The action is read from the Query API body (EC2, IAM, STS, auto scaling); the error is written in the
service's own XML form (EC2's <Response><Errors>, the others' <ErrorResponse>), so botocore parses it as AWS's.
"""

from __future__ import annotations

import http.client
import http.server
import re
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Callable

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


@dataclass
class _Failure:
    code: str
    message: str
    status: int
    when: str  # only requests whose body contains this
    times: int  # how many more requests to fail (-1: all)


class ApiFaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.failures: dict[str, list[_Failure]] = {}
        self.rewrites: dict[str, Callable[[bytes], bytes]] = {}
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ApiFaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, action: str, code: str, message: str, status: int = 400, when: str = "", times: int = -1) -> None:
        """Answer ``action`` (whose body contains ``when``) with this AWS error, ``times`` times (-1: always)."""
        self.failures.setdefault(action, []).append(_Failure(code, message, status, when, times))

    def rewrite(self, action: str, change: Callable[[bytes], bytes]) -> None:
        """Pass ``action`` to the server, then change its answer."""
        self.rewrites[action] = change

    def _failure_for(self, action: str, body: bytes) -> _Failure | None:
        with self.lock:
            self.seen.append(action)
            for failure in self.failures.get(action, []):
                if failure.times != 0 and failure.when.encode() in body:
                    failure.times -= 1 if failure.times > 0 else 0
                    return failure
        return None

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = _action(body)
                failure = proxy._failure_for(action, body) if action else None
                if failure is not None:
                    self._answer(failure.status, [("Content-Type", "text/xml")], _error_xml(self.headers, failure))
                    return
                status, headers, data = self._forward(body)
                if action in proxy.rewrites:
                    data = proxy.rewrites[action](data)
                self._answer(status, headers, data)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP | {"content-length"}]
                return response.status, kept, data

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler


def _action(body: bytes) -> str:
    try:
        return urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
    except UnicodeDecodeError:
        return ""


def _error_xml(headers: http.client.HTTPMessage, failure: _Failure) -> bytes:
    auth = str(headers.get("Authorization") or "")
    service = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    error = f"<Code>{failure.code}</Code><Message>{failure.message}</Message>"
    if service and service.group(1) == "ec2":
        return f"<Response><Errors><Error>{error}</Error></Errors><RequestID>fault</RequestID></Response>".encode()
    return (
        f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error><RequestId>fault</RequestId></ErrorResponse>".encode()
    )
