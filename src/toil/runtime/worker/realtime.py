"""Real-time logging: jobs send log records to the leader over UDP as they happen (--realTimeLogging).

The leader binds a UDP socket on loopback before the fork server starts (so
every job knows the address) and reads it from a thread started afterwards.
Without --realTimeLogging, RealtimeLogger messages go nowhere, as in Toil.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading

ENV_ADDRESS = "TOIL_RT_LOGGING_ADDRESS"
ENV_LEVEL = "TOIL_RT_LOGGING_LEVEL"
LOGGER_NAME = "toil-rt"  # where the leader logs what jobs sent
SENDER_NAME = "toil-rt-sender"  # what RealtimeLogger writes to inside a job


class RealtimeServer:
    """The leader's end: receive records and log them under 'toil-rt'."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = "%s:%d" % self.sock.getsockname()
        self._thread: threading.Thread | None = None
        self._stop = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="rt-logging", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self._log(data)

    def _log(self, data: bytes) -> None:
        try:
            rec = json.loads(data)
            logging.getLogger(LOGGER_NAME).log(int(rec.get("level", logging.INFO)), "%s", rec.get("msg", ""))
        except (ValueError, TypeError):
            pass

    def stop(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.sock.setblocking(False)
        while True:  # what the jobs sent just before the end
            try:
                self._log(self.sock.recvfrom(65536)[0])
            except OSError:
                break
        self.sock.close()


class _UDPHandler(logging.Handler):
    def __init__(self, address: str) -> None:
        super().__init__()
        host, _, port = address.rpartition(":")
        self.target = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            payload = json.dumps({"level": record.levelno, "msg": record.getMessage()}).encode()
            self.sock.sendto(payload[:60000], self.target)
        except Exception:
            pass


_configured_for: str | None = None


def worker_logger() -> logging.Logger:
    """The logger RealtimeLogger writes to in this process, wired to the leader if enabled."""
    global _configured_for
    logger = logging.getLogger(SENDER_NAME)
    address = os.environ.get(ENV_ADDRESS, "")
    if address != _configured_for:
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.propagate = False
        if address:
            logger.addHandler(_UDPHandler(address))
            logger.setLevel(int(os.environ.get(ENV_LEVEL, logging.INFO)))
        else:
            logger.setLevel(logging.CRITICAL + 1)
        _configured_for = address
    return logger


def enable_for_jobs(address: str, level: str | None) -> None:
    """Make jobs forked from now on send RealtimeLogger records to address."""
    from toil.runtime.observe.logs import level_of

    os.environ[ENV_ADDRESS] = address
    os.environ[ENV_LEVEL] = str(level_of(level))
