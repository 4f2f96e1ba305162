"""The framework side of the Mesos batch system: what it does with each event of its stream.

Tasks wait in ``pending`` until an offer fits them (offers.match); the offer is accepted with one LAUNCH of
every task it fits, or declined. Status updates are acknowledged and kept as each task's latest state, for the
batch system's next query. An update about a task this framework does not know (one a previous leader left,
found by reconciliation) that is still alive is killed. When the event stream breaks, the framework
subscribes again under its id and reconciles the tasks it knows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from toil.runtime.batch.remote.base import JobState
from toil.runtime.batch.remote.mesos.client import Event, MesosError, SchedulerClient
from toil.runtime.batch.remote.mesos.offers import TERMINAL, Offer, PendingTask, job_state, match, task_resources

log = logging.getLogger("toil.batch.mesos")

DECLINE_SECONDS = 2.0  # how long a declined offer's resources stay away while tasks wait
IDLE_DECLINE_SECONDS = 60.0  # ... and while none waits (REVIVE brings them back at once)
RECONNECT_SECONDS = 60.0  # how long to try to subscribe again after the stream broke
FAILOVER_SECONDS = 600.0  # how long the master keeps the tasks of a framework whose leader died


@dataclass
class Task:
    task_id: str
    agent_id: str
    state: JobState
    mesos_state: str = "TASK_STAGING"


class Framework:
    """One leader's framework: its connection, its waiting and launched tasks, and their latest states."""

    def __init__(self, endpoint: str, framework_info: dict[str, Any]) -> None:
        self.framework_info = framework_info
        self.client = SchedulerClient(endpoint, self._on_event, self._on_close)
        self.lock = threading.RLock()
        self.pending: dict[str, PendingTask] = {}
        self.tasks: dict[str, Task] = {}
        self.news = threading.Event()
        self.suppressed = False
        self.broken: str | None = None  # why the master is lost for good
        self.leftovers: dict[str, str] = {}  # task id -> agent id of live tasks this framework did not launch
        self.last_update = time.time()
        self.closing = False

    @property
    def framework_id(self) -> str | None:
        return self.client.framework_id

    def subscribe(self) -> None:
        """Subscribe (again, under its id when it has one); a stale id the master refuses starts anew."""
        info = dict(self.framework_info)
        if self.client.framework_id:
            info["id"] = {"value": self.client.framework_id}
        try:
            self.client.subscribe(info)
        except MesosError as e:
            if "id" not in info or e.status != 403:  # refused as this framework ("Framework has been removed")
                raise
            log.warning("The Mesos master refused framework %s; registering a new framework", info["id"]["value"])
            info.pop("id")
            self.client.framework_id = None
            self.client.subscribe(info)
        self.framework_info = {k: v for k, v in info.items() if k != "id"}

    # ------------------------------------------------------------------ events (the stream's thread)
    def _on_event(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "OFFERS":
            for offer in event.get("offers", {}).get("offers", []):
                self._offer(Offer.parse(offer))
        elif kind == "UPDATE":
            self._update(event.get("update", {}).get("status", {}))
        elif kind == "FAILURE":
            self._failure(event.get("failure", {}))
        elif kind == "ERROR":
            message = event.get("error", {}).get("message", "")
            log.error("The Mesos master says: %s", message)
            with self.lock:
                self.broken = f"the Mesos master ended the framework: {message}"
            self.news.set()

    def _offer(self, offer: Offer) -> None:
        with self.lock:
            chosen = match(offer, list(self.pending.values()))
            log.debug("Offer %s: %s%s; %d task(s) waiting, %d fit", offer.agent_id, offer.available.describe(),
                      " (preemptible)" if offer.preemptible else "", len(self.pending), len(chosen))  # fmt: skip
            for task in chosen:
                del self.pending[task.task_id]
                self.tasks[task.task_id] = Task(task.task_id, offer.agent_id, JobState(task.task_id, "pending"))
            suppress = not self.pending and not chosen and not self.suppressed
            if suppress:
                self.suppressed = True
        offer_ids = [{"value": offer.offer_id}]
        try:
            if not chosen:
                wait = DECLINE_SECONDS if self.pending else IDLE_DECLINE_SECONDS
                self.client.call("DECLINE", {"offer_ids": offer_ids, "filters": {"refuse_seconds": wait}})
                if suppress:
                    self.client.call("SUPPRESS", {})
                return
            infos = []
            for task in chosen:
                info = dict(task.info)
                info["agent_id"] = {"value": offer.agent_id}
                info["resources"] = task_resources(task.shape, offer.resources)
                infos.append(info)
            launch = {"type": "LAUNCH", "launch": {"task_infos": infos}}
            self.client.call("ACCEPT", {"offer_ids": offer_ids, "operations": [launch],
                                        "filters": {"refuse_seconds": DECLINE_SECONDS}})  # fmt: skip
            log.debug("Launched %d task(s) on agent %s (%s)", len(chosen), offer.agent_id, offer.hostname)
        except MesosError as e:
            log.warning("%s", e)
            with self.lock:  # not launched: they wait for the next offer
                for task in chosen:
                    if self.tasks.pop(task.task_id, None) is not None:
                        self.pending[task.task_id] = task

    def _update(self, status: dict[str, Any]) -> None:
        task_id = status.get("task_id", {}).get("value", "")
        agent_id = status.get("agent_id", {}).get("value", "")
        state = status.get("state", "")
        if status.get("uuid"):
            try:
                self.client.call("ACKNOWLEDGE", {"agent_id": {"value": agent_id}, "task_id": {"value": task_id},
                                                 "uuid": status["uuid"]})  # fmt: skip
            except MesosError as e:
                log.debug("%s", e)
        kill = False
        with self.lock:
            self.last_update = time.time()
            task = self.tasks.get(task_id)
            if task is None:
                kill = state not in TERMINAL and task_id not in self.pending
                if kill:
                    self.leftovers[task_id] = agent_id
            elif task.mesos_state not in TERMINAL:
                task.mesos_state, task.state = state, job_state(task_id, status)
                task.agent_id = agent_id or task.agent_id
                # Taken for lost and issued again: should its agent come back, this copy must not run on.
                kill = state == "TASK_UNREACHABLE"
        if kill:
            log.info("Killing Mesos task %s (%s), which this leader no longer runs", task_id, state)
            self.kill(task_id, agent_id)
        self.news.set()

    def _failure(self, failure: dict[str, Any]) -> None:
        """An agent failed (not one executor): its tasks are lost with it."""
        agent_id = failure.get("agent_id", {}).get("value")
        if not agent_id or failure.get("executor_id"):
            return
        with self.lock:
            for task in self.tasks.values():
                if task.agent_id == agent_id and task.mesos_state not in TERMINAL:
                    task.mesos_state = "TASK_LOST"
                    task.state = JobState(task.task_id, "lost", None, f"Mesos agent {agent_id} failed")
        self.news.set()

    def _on_close(self, why: str) -> None:
        if self.closing:
            return
        log.warning("Lost the Mesos master at %s (%s); subscribing again", self.client.address, why)
        threading.Thread(target=self._reconnect, daemon=True, name="mesos-reconnect").start()

    def _reconnect(self) -> None:
        deadline = time.time() + RECONNECT_SECONDS
        while not self.closing:
            try:
                self.subscribe()
                break
            except MesosError as e:
                if time.time() >= deadline:
                    with self.lock:
                        self.broken = f"lost the Mesos master: {e}"
                    self.news.set()
                    return
                time.sleep(2.0)
        self.reconcile()
        self.revive()

    # ------------------------------------------------------------------ calls (the batch system's thread)
    def add(self, task: PendingTask) -> None:
        with self.lock:
            self.pending[task.task_id] = task
        self.revive()

    def revive(self) -> None:
        with self.lock:
            if not self.suppressed and not self.pending:
                return
            self.suppressed = False
        try:
            self.client.call("REVIVE", {})
        except MesosError as e:
            log.debug("%s", e)

    def reconcile(self) -> None:
        """Ask the master for the state of every task still alive here (none known: of all the framework's)."""
        with self.lock:
            alive = [{"task_id": {"value": t.task_id}, "agent_id": {"value": t.agent_id}}
                     for t in self.tasks.values() if t.mesos_state not in TERMINAL]  # fmt: skip
        try:
            self.client.call("RECONCILE", {"tasks": alive})
        except MesosError as e:
            log.debug("%s", e)

    def kill(self, task_id: str, agent_id: str | None = None) -> None:
        payload: dict[str, Any] = {"task_id": {"value": task_id}}
        if agent_id:
            payload["agent_id"] = {"value": agent_id}
        try:
            self.client.call("KILL", payload)
        except MesosError as e:
            log.warning("%s", e)

    def teardown(self) -> None:
        """End the framework: the master kills its tasks and forgets it."""
        self.closing = True
        try:
            self.client.call("TEARDOWN")
        except MesosError as e:
            log.warning("Could not tear the Mesos framework down: %s", e)
        self.client.close()
