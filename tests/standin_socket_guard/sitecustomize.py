"""Loaded by a toil subprocess of the provisioning tests (on its PYTHONPATH): records every socket's peer.

With TOIL_TEST_PEERS_LOG set, each ``socket.connect`` appends its address to that file, so the test can check
that the subprocess connected to nothing but loopback (the same guard the in-process tests install).
"""

from __future__ import annotations

import os
import socket
from typing import Any

_LOG = os.environ.get("TOIL_TEST_PEERS_LOG")

if _LOG:
    _connect = socket.socket.connect

    def _recording_connect(self: socket.socket, address: Any) -> None:
        with open(str(_LOG), "a") as log:
            log.write(f"{address!r}\n")
        _connect(self, address)

    socket.socket.connect = _recording_connect  # type: ignore[method-assign]
