"""A client of Mesos' v1 scheduler HTTP API (``POST /api/v1/scheduler``), on the standard library.

SUBSCRIBE opens a long-lived response whose body is a RecordIO stream of JSON events (``LENGTH\\nJSON``); the
master names the stream in the ``Mesos-Stream-Id`` header, which every other call (ACCEPT, DECLINE, KILL,
ACKNOWLEDGE, RECONCILE, REVIVE, SUPPRESS, TEARDOWN) must carry, on connections of its own, answered 202.
A master that is not the leading one answers 307 with the leader's address, which is followed.

pymesos, the client Toil uses, is not used: its http-parser dependency does not build on Python 3.11
(``longintrepr.h`` is gone), so it cannot be installed here.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from toil.exceptions import ToilUserError

log = logging.getLogger("toil.batch.mesos")

API = "/api/v1/scheduler"
CONNECT_TIMEOUT = 10.0
Event = dict[str, Any]


class MesosError(Exception):
    """The master refused a call (``status``: its HTTP status) or could not be reached (``status`` 0)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``http://HOST:PORT``, or ``HOST``) as host and port (5050 by default)."""
    text = endpoint.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    try:
        port = parts.port or 5050
    except ValueError:
        raise ToilUserError(f"--mesosMaster {endpoint}: not HOST:PORT") from None
    if not parts.hostname:
        raise ToilUserError(f"--mesosMaster {endpoint}: not HOST:PORT")
    return parts.hostname, port


def brief(text: str) -> str:
    """What a server said, on one short line (an HTML error page included)."""
    words = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return words[:200] or "(nothing)"


def read_record(stream: Any) -> bytes | None:
    """The next RecordIO record of ``stream`` (``LENGTH\\n`` then that many bytes), or None at its end."""
    header = stream.readline()
    if not header:
        return None
    size = int(header.strip() or b"0")
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def encode_record(event: Event) -> bytes:
    """One RecordIO record holding ``event`` as JSON (what a master writes; the test double uses it)."""
    data = json.dumps(event).encode()
    return str(len(data)).encode() + b"\n" + data


class SchedulerClient:
    """One framework's connection to the master: its event stream (a thread) and its calls."""

    def __init__(self, endpoint: str, on_event: Callable[[Event], None], on_close: Callable[[str], None]) -> None:
        self.host, self.port = split_endpoint(endpoint)
        self.on_event = on_event
        self.on_close = on_close
        self.stream_id: str | None = None
        self.framework_id: str | None = None
        self._response: http.client.HTTPResponse | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ the event stream
    def subscribe(self, framework_info: dict[str, Any]) -> Event:
        """SUBSCRIBE as ``framework_info``; the SUBSCRIBED event. The stream's other events go to on_event."""
        body: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}
        fid = framework_info.get("id")
        if fid:
            body["framework_id"] = fid
        for _ in range(3):  # follow a redirect to the leading master
            conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
            try:
                conn.request("POST", API, json.dumps(body), self._headers(stream=False))
                response = conn.getresponse()
            except OSError as e:
                conn.close()
                raise MesosError(f"cannot reach the Mesos master at {self.address}: {e}") from None
            if response.status in (301, 302, 307):
                location = response.getheader("Location") or ""
                conn.close()
                self.host, self.port = split_endpoint(location.lstrip("/").split("/", 1)[0] or self.address)
                continue
            if response.status != 200:
                text = response.read().decode(errors="replace")
                conn.close()
                said = f"{response.status} {response.reason}: {brief(text)}"
                raise MesosError(f"{self.address} is not a Mesos master that accepts this framework ({said})",
                                 response.status)  # fmt: skip
            break
        else:
            raise MesosError(f"the Mesos master at {self.address} redirected too often")
        self.stream_id = response.getheader("Mesos-Stream-Id")
        record = read_record(response)
        event = json.loads(record) if record else {}
        if event.get("type") == "ERROR":  # e.g. "Framework has been removed": a 200 stream whose one event says no
            conn.close()
            said = brief(str(event.get("error", {}).get("message", "")))
            raise MesosError(f"the Mesos master at {self.address} refused the framework: {said}", 403)
        if event.get("type") != "SUBSCRIBED":
            conn.close()
            raise MesosError(f"the Mesos master at {self.address} did not confirm the subscription: {event}")
        subscribed = event["subscribed"]
        self.framework_id = subscribed["framework_id"]["value"]
        heartbeat = float(subscribed.get("heartbeat_interval_seconds", 15.0))
        if conn.sock is not None:  # no event for three heartbeats: the master is gone
            conn.sock.settimeout(3 * heartbeat + 5)
        self._conn, self._response, self._closing = conn, response, False
        self._thread = threading.Thread(target=self._read_events, args=(response,), daemon=True, name="mesos-events")
        self._thread.start()
        return event

    def _read_events(self, response: http.client.HTTPResponse) -> None:
        why = "the master closed the event stream"
        try:
            while True:
                record = read_record(response)
                if record is None:
                    break
                event = json.loads(record)
                try:
                    self.on_event(event)
                except Exception:  # one event handled badly must not end the stream
                    log.exception("Could not handle the Mesos event %s", event.get("type"))
        except Exception as e:  # a broken stream, or one close() cut mid-read (http.client's errors vary)
            why = f"the event stream broke: {type(e).__name__}: {e}"
        if not self._closing:
            self.on_close(why)

    def close(self) -> None:
        self._closing = True
        if self._conn is not None:
            try:
                if self._conn.sock is not None:
                    self._conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._conn.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._conn = self._response = self._thread = None

    # ------------------------------------------------------------------ calls
    def _headers(self, stream: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if stream and self.stream_id:
            headers["Mesos-Stream-Id"] = self.stream_id
        return headers

    def call(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        """One call of this framework (``kind`` as Mesos names it, e.g. ACCEPT) with its ``payload``."""
        body: dict[str, Any] = {"framework_id": {"value": self.framework_id}, "type": kind}
        if payload is not None:
            body[kind.lower()] = payload
        conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
        try:
            conn.request("POST", API, json.dumps(body), self._headers())
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
        except OSError as e:
            raise MesosError(f"{kind} to the Mesos master at {self.address} failed: {e}") from None
        finally:
            conn.close()
        if response.status not in (200, 202):
            raise MesosError(f"the Mesos master refused {kind}: {response.status} {brief(text)}")

    def get_json(self, path: str) -> Any:
        """A GET of one of the master's JSON endpoints (e.g. ``/master/slaves``)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except OSError as e:
            raise MesosError(f"cannot reach the Mesos master at {self.address}: {e}") from None
        finally:
            conn.close()
        if response.status != 200:
            raise MesosError(f"GET {path} on the Mesos master: {response.status}")
        return json.loads(data)
