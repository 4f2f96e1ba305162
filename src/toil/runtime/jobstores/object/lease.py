"""The leader lease of an object-store job store: numbered lease objects, taken create-only, renewed by a thread.

A leader takes the lease by writing ``lease/<EPOCH>`` create-only, one past
the latest; a second leader racing for the same epoch finds it taken and is
refused. The holder rewrites its object every TTL/4 seconds (``renewed``);
a lease is live until ``renewed + ttl``, or until its holder writes
``released``. A new leader may take an expired lease, never a live one,
with one exception that needs no waiting: on the machine (and pid
namespace) where the holder ran, a holder process that is gone is known to
be dead at once, so a ``--restart`` after ``kill -9`` does not wait out the
TTL. The holder's thread also watches for a later epoch: if one appears
(its lease expired while it was stalled), it logs that it lost the lease;
the journal's create-only segments then refuse its writes.

TOIL_LEASE_SECONDS sets the TTL (default 60).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from typing import Any, Callable

from toil.exceptions import JobStoreLockedError
from toil.lib.host import pid_alive, pid_space, process_start_ticks
from toil.runtime.jobstores.object.driver import ObjectDriver

log = logging.getLogger(__name__)

PREFIX = "lease/"
_LEASE = re.compile(r"^lease/(\d{12})$")


def lease_seconds() -> float:
    return max(2.0, float(os.environ.get("TOIL_LEASE_SECONDS", "60")))


def _key(epoch: int) -> str:
    return f"{PREFIX}{epoch:012d}"


class Lease:
    """The leader lease as seen through one driver."""

    def __init__(self, driver: ObjectDriver, locked_error: Callable[[dict[str, Any]], JobStoreLockedError]) -> None:
        self.driver = driver
        self.locked_error = locked_error
        self.epoch: int | None = None  # the epoch this handle holds
        self._record: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    # -- reading
    def latest(self) -> tuple[int, dict[str, Any]] | None:
        """The latest lease object (epoch, record), or None if none was ever taken."""
        epochs = [int(m.group(1)) for info in self.driver.list(PREFIX) if (m := _LEASE.match(info.key))]
        if not epochs:
            return None
        epoch = max(epochs)
        try:
            record = json.loads(self.driver.get(_key(epoch)))
        except KeyError:
            return epoch, {"released": True}
        except ValueError:
            record = {}  # damaged: treated as held until it expires (renewed 0 is long expired)
        return epoch, record if isinstance(record, dict) else {}

    @staticmethod
    def live(record: dict[str, Any], now: float | None = None) -> bool:
        """Whether a lease record is held: not released, not expired, and its holder not known to be dead."""
        if not record or record.get("released"):
            return False
        now = time.time() if now is None else now
        if now > float(record.get("renewed", 0)) + float(record.get("ttl", 0)):
            return False
        if record.get("pid_space") == pid_space():
            pid = int(record.get("pid", 0))
            return pid > 0 and pid_alive(pid) and process_start_ticks(pid) == record.get("pid_start")
        return True

    def holder(self) -> dict[str, Any]:
        """{"pid", "host", "started"} of the live lease's holder, or {}."""
        latest = self.latest()
        if latest is None or not self.live(latest[1]):
            return {}
        return {k: latest[1][k] for k in ("pid", "host", "started") if k in latest[1]}

    def held(self) -> bool:
        latest = self.latest()
        return latest is not None and self.live(latest[1])

    # -- taking and giving up
    def acquire(self) -> None:
        latest = self.latest()
        if latest is not None and self.live(latest[1]):
            raise self.locked_error(latest[1])
        epoch = (latest[0] + 1) if latest else 1
        now = time.time()
        self._record = {
            "owner": uuid.uuid4().hex,
            "pid": os.getpid(),
            "pid_start": process_start_ticks(os.getpid()),
            "pid_space": pid_space(),
            "host": socket.gethostname(),
            "started": now,
            "renewed": now,
            "ttl": lease_seconds(),
        }
        if not self.driver.put(_key(epoch), self._encode(), create_only=True):
            taken = (self.latest() or (0, {}))[1]
            if taken.get("owner") != self._record["owner"]:  # not a retried write of our own whose answer was lost
                raise self.locked_error(taken)
        self.epoch = epoch
        if latest is not None:
            self.driver.delete([_key(e) for e in range(max(1, latest[0] - 2), epoch)])
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="toil-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        if self.epoch is None:
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        if not self.lost:
            self._record["released"] = True
            try:
                self.driver.put(_key(self.epoch), self._encode())
            except Exception as e:  # the lease then expires by itself
                log.warning("Could not release the job store's lease (%s); it expires in %.0f s", e, lease_seconds())
        self.epoch = None

    def _encode(self) -> bytes:
        return json.dumps(self._record).encode()

    def _renew_loop(self) -> None:
        interval = float(self._record["ttl"]) / 4
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception as e:  # a later renewal may succeed before the lease expires
                log.warning("Could not renew the job store's lease: %s", e)
            if self.lost:
                return

    def renew(self) -> None:
        """Extend the lease, unless a later epoch shows another leader took it."""
        assert self.epoch is not None
        if self.driver.head(_key(self.epoch + 1)) is not None:
            self.lost = True
            log.error("Another leader took the job store's lease at %s: this leader stops writing", self.driver.where)
            return
        self._record["renewed"] = time.time()
        self.driver.put(_key(self.epoch), self._encode())
