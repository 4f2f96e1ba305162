"""``python -m tests.mesos_double --agent ID:CPUS:MEM_MIB:DISK_MIB[:preemptible] ... --port-file FILE``.

Serves the double's master on 127.0.0.1 (an ephemeral port, written to FILE) until SIGTERM, which kills every
task process its agents still run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading

from tests.mesos_double.agent import Agent
from tests.mesos_double.master import Master, serve


def parse_agent(text: str, sandbox: str) -> Agent:
    parts = text.split(":")
    agent_id, cpus, mem, disk = parts[0], float(parts[1]), float(parts[2]), float(parts[3])
    attributes = {"preemptible": "True"} if "preemptible" in parts[4:] else {}
    total = {"cpus": cpus, "mem": mem, "disk": disk, "gpus": 0.0}
    return Agent(agent_id, "127.0.0.1", total, attributes, sandbox, report=lambda *a: None)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--agent", action="append", default=[])
    p.add_argument("--port-file", required=True)
    p.add_argument("--sandbox", default=None)
    p.add_argument("--heartbeat", type=float, default=2.0)
    a = p.parse_args()
    sandbox = a.sandbox or tempfile.mkdtemp(prefix="mesos-double-")
    master = Master([parse_agent(s, sandbox) for s in a.agent], heartbeat=a.heartbeat)
    server = serve(master)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    master.stopping = True
    for agent in master.agents.values():
        agent.lose()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
