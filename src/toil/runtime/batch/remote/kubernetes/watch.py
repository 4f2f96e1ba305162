"""One watch on the workflow's pods (by its label), kept as the latest ``PodView`` of each Job.

A thread lists the pods once, then follows the API server's watch from that resource version, so the leader
learns of every change without asking about each job. When the server has forgotten the version (410 Gone)
or the connection drops, it lists again. ``changed`` is set on every event, so the leader's loop wakes at
once instead of at its next poll.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from toil.runtime.batch.remote.kubernetes.specs import RUN_LABEL
from toil.runtime.batch.remote.kubernetes.states import PodView

log = logging.getLogger("toil.batch.kubernetes")

WATCH_SECONDS = 60  # the server closes each watch after this; the thread opens the next from where it was


class PodWatch:
    """The latest view of each of the workflow's pods, by Job name, kept current by a thread."""

    def __init__(self, core: Any, namespace: str, run_label: str) -> None:
        self.core = core
        self.namespace = namespace
        self.selector = f"{RUN_LABEL}={run_label}"
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._pods: dict[str, PodView] = {}  # job name -> its newest pod
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._watch: Any = None
        self._thread = threading.Thread(target=self._run, name="toil-kubernetes-watch", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        self._synced.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()

    def pods(self) -> dict[str, PodView]:
        with self._lock:
            return dict(self._pods)

    def forget(self, job_names: list[str]) -> None:
        with self._lock:
            for name in job_names:
                self._pods.pop(name, None)

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        from kubernetes import watch

        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    version = self._list()
                self._watch = watch.Watch()
                for event in self._watch.stream(
                    self.core.list_namespaced_pod,
                    self.namespace,
                    label_selector=self.selector,
                    resource_version=version,
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                ):
                    if self._stop.is_set():
                        return
                    if event["type"] == "ERROR":
                        version = ""  # 410 Gone: the version is too old; list again
                        break
                    version = event["object"].metadata.resource_version or version
                    if event["type"] != "BOOKMARK":
                        self._take(event["object"], deleted=event["type"] == "DELETED")
            except Exception as e:  # noqa: BLE001 - a dropped watch is normal; list again after a pause
                if self._stop.is_set():
                    return
                status = getattr(e, "status", None)
                if status == 410:
                    version = ""
                else:
                    log.debug("Kubernetes pod watch interrupted (%s); resuming", e)
                    version = ""
                    self._stop.wait(1.0)

    def _list(self) -> str:
        answer = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)
        seen = set()
        for pod in answer.items:
            seen.add(self._take(pod, deleted=False, notify=False))
        with self._lock:
            # pods that vanished while nobody watched: deleted
            for name, view in list(self._pods.items()):
                if name not in seen and not view.deleted and not view.finished:
                    self._pods[name] = _deleted(view)
        self._synced.set()
        self.changed.set()
        return str(answer.metadata.resource_version or "")

    def _take(self, pod: Any, deleted: bool, notify: bool = True) -> str:
        view = PodView.from_pod(pod, deleted=deleted)
        if not view.job_name:
            return ""
        with self._lock:
            old = self._pods.get(view.job_name)
            # The pod a job ran in speaks for it. Once that pod ended or was deleted the outcome is known, and a
            # second pod the Job controller makes in its place does not change it (the leader deletes the Job).
            if old is None or old.name == view.name or not (old.deleted or old.finished):
                self._pods[view.job_name] = view
        if notify:
            self.changed.set()
        return view.job_name


def _deleted(view: PodView) -> PodView:
    from dataclasses import replace

    return replace(view, deleted=True)


def wait_changed(watch: PodWatch, seconds: float) -> bool:
    """Sleep up to ``seconds``, waking when the watch saw something; whether it did."""
    woke = watch.changed.wait(max(0.0, seconds))
    watch.changed.clear()
    return woke
