"""Fault-injecting HTTP proxies on 127.0.0.1 between the project and a stand-in server (moto_server, s3rver).

One forwarding proxy, two ways of choosing what to break:

    proxy = FaultProxy(upstream_port=5000, seed=1, slowdown=0.05, error=0.03, drop_before=0.02,
                       drop_after=0.02, delay=0.05).start()     # random S3 faults; proxy.counts says how many
    ... TOIL_S3_PORT=proxy.port ...; proxy.stop()

Each request, by a seeded draw, is answered with 503 SlowDown or 500 InternalError (S3's XML error bodies)
without reaching the server, has its connection dropped before it is forwarded or after the server acted on
it (its answer lost: the case create-only writes must recognise as their own), is delayed, or passes through
untouched. Requests to moto's own API (``/moto-api``) pass.

    proxy = ApiFaultProxy(upstream_port=5000).start()           # chosen AWS API calls fail or change
    proxy.fail("RequestSpotInstances", "UnauthorizedOperation", "You are not authorized", status=403)
    proxy.fail("RunInstances", "InsufficientInstanceCapacity", "...", when="m5.large", times=1)
    proxy.rewrite("DescribeSpotInstanceRequests", lambda body: ...)
    ... AWS_ENDPOINT_URL=http://127.0.0.1:{proxy.port} ...; proxy.stop()
    proxy.seen   # the actions, in order; S3 calls as s3:METHOD

The action is read from the Query API body (EC2, IAM, STS, auto scaling); the error is written in the
service's own XML form (EC2's <Response><Errors>, the others' <ErrorResponse>), so botocore parses it as AWS's.
"""

from __future__ import annotations

import collections
import http.client
import http.server
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


@dataclass(frozen=True)
class Answer:
    """Answer the request here, without forwarding it."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Drop:
    """Close the connection: before forwarding (the server never saw it) or after (its answer is lost)."""

    after: bool


@dataclass(frozen=True)
class Delay:
    """Forward the request after waiting."""

    seconds: float


Fault = Answer | Drop | Delay | None


class ForwardingProxy:
    """Forwards every request to 127.0.0.1:upstream_port; a subclass's ``fault`` chooses what to break."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ForwardingProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, command: str, path: str, headers: http.client.HTTPMessage, body: bytes) -> Fault:
        """What to do with one request (None: forward it untouched)."""
        return None

    def change_answer(self, body: bytes, data: bytes) -> bytes:
        """The forwarded answer's body as the client gets it."""
        return data

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.fault(self.command, self.path, self.headers, body)
                if isinstance(fault, Answer):
                    self._answer(fault.status, [("Content-Type", fault.content_type)], fault.body, None)
                    return
                if isinstance(fault, Drop) and not fault.after:
                    self.close_connection = True
                    return
                if isinstance(fault, Delay):
                    time.sleep(fault.seconds)
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if isinstance(fault, Drop):  # the server acted; its answer is lost
                    self.close_connection = True
                    return
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
                self._answer(response.status, kept, proxy.change_answer(body, data), response.reason)

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes, reason: str | None) -> None:
                self.send_response(status, reason)
                head = self.command == "HEAD"  # its Content-Length is the object's, with no body
                for key, value in headers:
                    if head or key.lower() != "content-length":
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                elif not any(k.lower() == "content-length" for k, _ in headers):
                    self.send_header("Content-Length", "0")
                self.end_headers()
                if not head:  # a body after a HEAD's answer would be read as the next answer
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler


_S3_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "error": (500, "InternalError", "We encountered an internal error. Please try again."),
}


class FaultProxy(ForwardingProxy):
    """Random S3 faults by a seeded draw per request; ``counts`` says how many of each happened."""

    def __init__(self, upstream_port: int, seed: int = 0, **rates: float) -> None:
        super().__init__(upstream_port)
        self.rates = {k: rates.get(k, 0.0) for k in ("slowdown", "error", "drop_before", "drop_after", "delay")}
        self.rng = random.Random(seed)
        self.counts: collections.Counter[str] = collections.Counter()

    def start(self) -> FaultProxy:
        super().start()
        return self

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

    def fault(self, command: str, path: str, headers: http.client.HTTPMessage, body: bytes) -> Fault:
        drawn = self.draw(path)
        if drawn in _S3_ERRORS:
            status, code, message = _S3_ERRORS[drawn]
            return Answer(
                status, "application/xml", f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
            )
        if drawn in ("drop_before", "drop_after"):
            return Drop(after=drawn == "drop_after")
        if drawn == "delay":
            with self.lock:
                return Delay(self.rng.uniform(0.02, 0.3))
        return None


@dataclass
class _Failure:
    code: str
    message: str
    status: int
    when: str  # only requests whose body contains this
    times: int  # how many more requests to fail (-1: all)


class ApiFaultProxy(ForwardingProxy):
    """Chosen AWS Query API actions fail with AWS's own errors, or have their answers rewritten."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.failures: dict[str, list[_Failure]] = {}
        self.rewrites: dict[str, Callable[[bytes], bytes]] = {}
        self.seen: list[str] = []

    def start(self) -> ApiFaultProxy:
        super().start()
        return self

    def fail(self, action: str, code: str, message: str, status: int = 400, when: str = "", times: int = -1) -> None:
        """Answer ``action`` (whose body contains ``when``) with this AWS error, ``times`` times (-1: always)."""
        self.failures.setdefault(action, []).append(_Failure(code, message, status, when, times))

    def rewrite(self, action: str, change: Callable[[bytes], bytes]) -> None:
        """Pass ``action`` to the server, then change its answer."""
        self.rewrites[action] = change

    def fault(self, command: str, path: str, headers: http.client.HTTPMessage, body: bytes) -> Fault:
        action = _action(body)
        if not action:  # S3's REST calls: counted, never failed
            with self.lock:
                self.seen.append(f"s3:{command}")
            return None
        with self.lock:
            self.seen.append(action)
            for failure in self.failures.get(action, []):
                if failure.times != 0 and failure.when.encode() in body:
                    failure.times -= 1 if failure.times > 0 else 0
                    return Answer(failure.status, "text/xml", _error_xml(headers, failure))
        return None

    def change_answer(self, body: bytes, data: bytes) -> bytes:
        action = _action(body)
        return self.rewrites[action](data) if action in self.rewrites else data


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
