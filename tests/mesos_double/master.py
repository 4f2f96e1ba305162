"""A protocol double of a Mesos master's v1 scheduler API (``POST /api/v1/scheduler``), from Mesos' documentation.

SUBSCRIBE answers 200 with a ``Mesos-Stream-Id`` header and a chunked RecordIO stream of JSON events
(SUBSCRIBED, OFFERS, UPDATE, FAILURE, ERROR, HEARTBEAT); other calls carry that header and are answered 202
(400 for a wrong stream id or a malformed call). Offers are made per agent of what it has free, except to a
framework that suppressed offers or declined that agent's within its filter's refuse_seconds. LAUNCH checks
each task's resources against the offer (TASK_ERROR otherwise). A framework whose stream breaks keeps its
tasks for its failover_timeout, then it is removed and its tasks killed; TEARDOWN does that at once.
``GET /master/slaves`` lists the agents as the master's endpoint does. Test-only controls live under
``/double/``: the state, losing an agent (its tasks TASK_LOST with REASON_AGENT_REMOVED, a FAILURE event),
partitioning one (its tasks TASK_UNREACHABLE, still running) and breaking a framework's stream.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.mesos_double.agent import SCALARS, Agent, RunningTask
from toil.runtime.batch.remote.mesos.client import encode_record


@dataclass
class Framework:
    framework_id: str
    info: dict[str, Any]
    stream_id: str = ""
    events: queue.Queue = field(default_factory=queue.Queue)
    connected: bool = False
    disconnected_at: float = 0.0
    suppressed: bool = False
    offers: dict[str, str] = field(default_factory=dict)  # offer id -> agent id
    filters: dict[str, float] = field(default_factory=dict)  # agent id -> refused until
    subscriptions: int = 0
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> agent id
    states: dict[str, str] = field(default_factory=dict)  # task id -> latest state

    def send(self, event: dict[str, Any]) -> None:
        self.events.put(event)


class Master:
    def __init__(self, agents: list[Agent], heartbeat: float = 2.0) -> None:
        self.agents = {a.agent_id: a for a in agents}
        for a in agents:
            a.report = self.report
        self.frameworks: dict[str, Framework] = {}
        self.removed: dict[str, Framework] = {}  # id -> a framework torn down or failed over
        self.lock = threading.RLock()
        self.heartbeat = heartbeat
        self.calls: dict[str, int] = {}
        self.stopping = False

    # ------------------------------------------------------------------ agent -> framework
    def report(self, rt: RunningTask, state: str, reason: str, message: str, source: str = "SOURCE_EXECUTOR") -> None:
        with self.lock:
            fw = self.frameworks.get(rt.framework_id)
            gone = self.removed.get(rt.framework_id)
            if gone is not None:  # its tasks end without telling anyone
                gone.states[rt.task_id] = state
            if fw is None:
                return
            fw.states[rt.task_id] = state
            status: dict[str, Any] = {"task_id": {"value": rt.task_id}, "state": state, "source": source,
                                      "agent_id": {"value": fw.tasks.get(rt.task_id, "")}, "timestamp": time.time(),
                                      "uuid": base64.b64encode(uuid.uuid4().bytes).decode()}  # fmt: skip
            if reason:
                status["reason"] = reason
            if message:
                status["message"] = message
            fw.send({"type": "UPDATE", "update": {"status": status}})

    # ------------------------------------------------------------------ offers
    def offer_loop(self) -> None:
        while not self.stopping:
            with self.lock:
                self._expire_frameworks()
                for fw in self.frameworks.values():
                    if fw.connected and not fw.suppressed:
                        self._make_offers(fw)
            time.sleep(0.2)

    def _make_offers(self, fw: Framework) -> None:
        now = time.time()
        offered = set(fw.offers.values())
        outstanding = {a for f in self.frameworks.values() for a in f.offers.values()}
        offers = []
        for agent in self.agents.values():
            if not agent.active or agent.agent_id in offered or agent.agent_id in outstanding:
                continue
            if fw.filters.get(agent.agent_id, 0) > now:
                continue
            free = agent.free()
            if free["cpus"] < 0.01 or free["mem"] < 32:
                continue
            offer_id = f"{uuid.uuid4()}-O"
            fw.offers[offer_id] = agent.agent_id
            roles = fw.info.get("roles") or [fw.info.get("role", "*")]
            resources = []
            for k in SCALARS:
                if free[k] > 0:
                    r: dict[str, Any] = {"name": k, "type": "SCALAR", "scalar": {"value": round(free[k], 3)}}
                    r["allocation_info"] = {"role": roles[0]}
                    resources.append(r)
            offers.append({"id": {"value": offer_id}, "framework_id": {"value": fw.framework_id},
                           "agent_id": {"value": agent.agent_id}, "hostname": agent.hostname,
                           "resources": resources, "attributes": agent.attribute_messages()})  # fmt: skip
        if offers:
            fw.send({"type": "OFFERS", "offers": {"offers": offers}})

    def _expire_frameworks(self) -> None:
        now = time.time()
        for fw in list(self.frameworks.values()):
            timeout = float(fw.info.get("failover_timeout", 0.0))
            if not fw.connected and fw.disconnected_at and now - fw.disconnected_at > timeout:
                self.remove_framework(fw)

    def remove_framework(self, fw: Framework) -> None:
        with self.lock:
            self.frameworks.pop(fw.framework_id, None)
            self.removed[fw.framework_id] = fw
            fw.connected = False
            fw.send({"type": "__close__"})
        for task_id, agent_id in fw.tasks.items():
            agent = self.agents.get(agent_id)
            if agent is not None:
                agent.kill(task_id)

    # ------------------------------------------------------------------ calls
    def call(self, body: dict[str, Any], stream_id: str | None) -> tuple[int, str]:
        kind = body.get("type", "")
        fid = body.get("framework_id", {}).get("value", "")
        with self.lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1
            fw = self.frameworks.get(fid)
            if fw is None:
                return 404, f"Framework '{fid}' not found"
            if stream_id != fw.stream_id:
                return 400, f"The stream ID '{stream_id}' included in this request didn't match the stream ID " \
                            f"currently associated with framework ID {fid}"  # fmt: skip
            payload = body.get(kind.lower(), {}) or {}
            handler = getattr(self, f"_call_{kind.lower()}", None)
            if handler is None:
                return 400, f"Unsupported call type {kind}"
            handler(fw, payload)
        return 202, ""

    def _call_decline(self, fw: Framework, p: dict[str, Any]) -> None:
        refuse = float(p.get("filters", {}).get("refuse_seconds", 5.0))
        for oid in p.get("offer_ids", []):
            agent_id = fw.offers.pop(oid["value"], None)
            if agent_id:
                fw.filters[agent_id] = time.time() + refuse

    def _call_accept(self, fw: Framework, p: dict[str, Any]) -> None:
        refuse = float(p.get("filters", {}).get("refuse_seconds", 5.0))
        agents = [fw.offers.pop(oid["value"], None) for oid in p.get("offer_ids", [])]
        valid = [a for a in agents if a]
        for op in p.get("operations", []):
            for task in op.get("launch", {}).get("task_infos", []) if op.get("type") == "LAUNCH" else []:
                self._launch(fw, task, valid[0] if valid else None)
        for a in valid:
            fw.filters[a] = time.time() + refuse

    def _launch(self, fw: Framework, task: dict[str, Any], agent_id: str | None) -> None:
        task_id = task["task_id"]["value"]
        resources = dict.fromkeys(SCALARS, 0.0)
        for r in task.get("resources", []):
            if r.get("name") in resources:
                resources[r["name"]] += float(r["scalar"]["value"])
        agent = self.agents.get(agent_id or "")
        fw.tasks[task_id] = task.get("agent_id", {}).get("value", "")
        rt = RunningTask(task_id, fw.framework_id, resources)
        if agent is None or agent.agent_id != task.get("agent_id", {}).get("value"):
            self.report(
                rt, "TASK_DROPPED", "REASON_INVALID_OFFERS", "Task launched with invalid offers", "SOURCE_MASTER"
            )
        elif any(resources[k] > agent.free()[k] + 1e-6 for k in SCALARS):
            self.report(
                rt, "TASK_ERROR", "REASON_TASK_INVALID", "Task uses more resources than offered", "SOURCE_MASTER"
            )
        else:
            threading.Thread(target=agent.launch, args=(task, fw.framework_id, resources), daemon=True).start()

    def _call_kill(self, fw: Framework, p: dict[str, Any]) -> None:
        task_id = p["task_id"]["value"]
        agent = self.agents.get(fw.tasks.get(task_id, ""))
        if agent is None or not agent.kill(task_id):
            if fw.states.get(task_id) not in (None, "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST"):
                self.report(RunningTask(task_id, fw.framework_id, {}), "TASK_LOST", "REASON_RECONCILIATION",
                            "Attempted to kill an unknown task", "SOURCE_MASTER")  # fmt: skip

    def _call_acknowledge(self, fw: Framework, p: dict[str, Any]) -> None:
        pass  # the double does not resend unacknowledged updates

    def _call_reconcile(self, fw: Framework, p: dict[str, Any]) -> None:
        asked = [t["task_id"]["value"] for t in p.get("tasks", [])]
        alive = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
        ids = asked or [t for t, s in fw.states.items() if s in alive]
        for task_id in ids:
            state = fw.states.get(task_id, "TASK_LOST")
            status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_MASTER",
                      "reason": "REASON_RECONCILIATION", "agent_id": {"value": fw.tasks.get(task_id, "")}}  # fmt: skip
            fw.send({"type": "UPDATE", "update": {"status": status}})

    def _call_revive(self, fw: Framework, p: dict[str, Any]) -> None:
        fw.suppressed = False
        fw.filters.clear()

    def _call_suppress(self, fw: Framework, p: dict[str, Any]) -> None:
        fw.suppressed = True

    def _call_teardown(self, fw: Framework, p: dict[str, Any]) -> None:
        self.remove_framework(fw)

    # ------------------------------------------------------------------ subscription
    def subscribe(self, body: dict[str, Any]) -> tuple[Framework | None, str]:
        info = body.get("subscribe", {}).get("framework_info", {})
        fid = (info.get("id") or {}).get("value")
        with self.lock:
            self.calls["SUBSCRIBE"] = self.calls.get("SUBSCRIBE", 0) + 1
            if fid in self.removed:
                return None, "Framework has been removed"
            fw = self.frameworks.get(fid or "")
            if fw is None:
                fw = Framework(fid or f"{uuid.uuid4()}-0000", info)
                self.frameworks[fw.framework_id] = fw
            else:
                fw.send({"type": "__close__"})  # the old stream ends
                fw.events = queue.Queue()
                fw.offers.clear()
            fw.info, fw.stream_id, fw.connected = info, str(uuid.uuid4()), True
            fw.subscriptions += 1
            fw.suppressed = False
        return fw, ""

    def agent_lost(self, agent_id: str) -> int:
        agent = self.agents[agent_id]
        tasks = agent.lose()
        for rt in tasks:
            self.report(rt, "TASK_LOST", "REASON_AGENT_REMOVED", "Agent removed", "SOURCE_MASTER")
        with self.lock:
            for fw in self.frameworks.values():
                fw.offers = {o: a for o, a in fw.offers.items() if a != agent_id}
                fw.send({"type": "FAILURE", "failure": {"agent_id": {"value": agent_id}}})
        return len(tasks)

    def agent_partitioned(self, agent_id: str) -> int:
        """The master loses sight of an agent whose tasks go on running: TASK_UNREACHABLE, no more offers. A KILL
        still reaches the agent (as when it comes back and the master passes the kill on)."""
        agent = self.agents[agent_id]
        agent.active = False
        with agent.lock:
            tasks = list(agent.tasks.values())
        for rt in tasks:
            self.report(rt, "TASK_UNREACHABLE", "REASON_AGENT_PARTITIONED", "Agent partitioned", "SOURCE_MASTER")
        with self.lock:
            for fw in self.frameworks.values():
                fw.offers = {o: a for o, a in fw.offers.items() if a != agent_id}
        return len(tasks)

    def drop_stream(self, framework_id: str) -> bool:
        """Break a framework's event stream (as a network fault would); the framework stays, within its failover."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is not None:
                fw.send({"type": "__close__"})
        return fw is not None

    def slaves(self) -> dict[str, Any]:
        out = []
        for a in self.agents.values():
            out.append({"id": a.agent_id, "hostname": a.hostname, "resources": a.total, "used_resources": a.used(),
                        "attributes": a.attributes, "active": a.active})  # fmt: skip
        return {"slaves": out}

    def state(self) -> dict[str, Any]:
        def describe(f: Framework) -> dict[str, Any]:
            return {"id": f.framework_id, "name": f.info.get("name"), "connected": f.connected,
                    "subscriptions": f.subscriptions, "roles": f.info.get("roles"), "tasks": dict(f.tasks),
                    "states": dict(f.states)}  # fmt: skip

        with self.lock:
            live = [describe(f) for f in self.frameworks.values()]
            removed = [describe(f) for f in self.removed.values()]
        running = {a.agent_id: [t.task_id for t in a.tasks.values()] for a in self.agents.values()}
        return {"frameworks": live, "removed": removed, "running": running, "calls": dict(self.calls)}


def handler_for(master: Master) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, code: int, data: Any = None) -> None:
            body = b"" if data is None else (data if isinstance(data, bytes) else json.dumps(data).encode())
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/master/slaves"):
                self._reply(200, master.slaves())
            elif self.path.startswith("/double/state"):
                self._reply(200, master.state())
            else:
                self._reply(404, b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.startswith("/double/agents/") and self.path.endswith("/lose"):
                self._reply(200, {"lost": master.agent_lost(self.path.split("/")[3])})
                return
            if self.path.startswith("/double/agents/") and self.path.endswith("/partition"):
                self._reply(200, {"unreachable": master.agent_partitioned(self.path.split("/")[3])})
                return
            if self.path.startswith("/double/frameworks/") and self.path.endswith("/drop"):
                self._reply(200, {"dropped": master.drop_stream(self.path.split("/")[3])})
                return
            if self.path != "/api/v1/scheduler":
                self._reply(404, b"")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._reply(400, b"Failed to parse body into JSON")
                return
            if body.get("type") == "SUBSCRIBE":
                self._stream(body)
                return
            code, text = master.call(body, self.headers.get("Mesos-Stream-Id"))
            self._reply(code, text.encode())

        def _stream(self, body: dict[str, Any]) -> None:
            fw, error = master.subscribe(body)
            if fw is None:  # as Mesos answers a removed framework: a stream whose one event is an ERROR
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._chunk(encode_record({"type": "ERROR", "error": {"message": error}}))
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True
                return
            events, stream_id = fw.events, fw.stream_id
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Mesos-Stream-Id", stream_id)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            first = {"type": "SUBSCRIBED", "subscribed": {"framework_id": {"value": fw.framework_id},
                                                          "heartbeat_interval_seconds": master.heartbeat}}  # fmt: skip
            try:
                self._chunk(encode_record(first))
                while not master.stopping:
                    try:
                        event = events.get(timeout=master.heartbeat)
                    except queue.Empty:
                        event = {"type": "HEARTBEAT"}
                    if event.get("type") == "__close__":
                        break
                    self._chunk(encode_record(event))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            finally:
                with master.lock:
                    if fw.stream_id == stream_id and fw.connected:
                        fw.connected, fw.disconnected_at = False, time.time()
                        fw.offers.clear()
                self.close_connection = True

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def serve(master: Master, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(master))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=master.offer_loop, daemon=True).start()
    return server
