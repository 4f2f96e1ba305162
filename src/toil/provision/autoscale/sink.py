"""The autoscaler inside a running workflow: a leader sink (entry point ``toil.leader_sinks``) that reads the
leader's snapshots and runs the driver on a thread of its own every ``--scaleInterval``.

With ``--provisioner aws`` the workflow scales the cluster it runs on: the cluster's name and zone come from
the environment the node bootstrap gives the leader's appliance (``TOIL_CLUSTER_NAME``, ``TOIL_AWS_ZONE``;
Toil reads them from the leader's instance tags). The runtime only publishes snapshots to it and asks it
whether a job fits any node type; the batch system describes and drains nodes; the provisioner adds and
removes them. The driver's state is saved in the workflow's directory, so a restarted leader carries on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from toil.compiler.ir import Resources
from toil.provision import provisioner
from toil.provision.autoscale.cluster import ProvisionedBackend, node_choices, policy_options
from toil.provision.autoscale.driver import AutoscaleDriver
from toil.provision.autoscale.messages import unfit_message
from toil.provision.autoscale.policy import JobDemand, NodeChoice, slots
from toil.provision.spec import ProvisionError
from toil.runtime.batch.base import BatchSystem, NodeInfo
from toil.runtime.config import Config
from toil.runtime.observe.clusterusage import write_cluster_usage
from toil.runtime.observe.snapshot import Snapshot

log = logging.getLogger("toil.autoscale")

STATE_FILE = "autoscaler-state.json"


class AutoscaleSink:
    """Feeds the driver the leader's latest queue; refuses jobs no node type fits; removes every node at the end."""

    wants_jobs = 1_000_000  # the whole queue: the policy packs every issued job

    def __init__(
        self,
        driver: AutoscaleDriver,
        choices: list[NodeChoice],
        interval: float,
        nodes: Callable[[], Sequence[NodeInfo]],
    ) -> None:
        self.driver, self.choices, self.interval, self.nodes = driver, choices, interval, nodes
        self._latest: Snapshot | None = None
        self._walls: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoscaler", daemon=True)
        self._thread.start()

    def queue(self) -> list[JobDemand]:
        """The issued jobs of the latest snapshot, as the policy sees them."""
        with self._lock:
            snapshot = self._latest
        if snapshot is None:
            return []
        return [
            JobDemand(
                job["name"],
                job["cores"],
                job["memory"],
                job["disk"],
                job["accelerators"],
                job["preemptible"],
                id=job["id"],
            )
            for job in snapshot.issued_jobs
        ]

    def publish(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._latest = snapshot
        for name, totals in snapshot.walls.items():  # jobs finished since the last snapshot: learn their times
            count, wall = self._walls.get(name, (0, 0.0))
            new = totals["count"] - count
            if new > 0:
                for _ in range(new):
                    self.driver.job_finished(name, (totals["wall"] - wall) / new)
                self._walls[name] = (totals["count"], totals["wall"])

    def refuse(self, resources: Resources, label: str) -> str | None:
        """One line naming the job, its needs and the largest node type, if no node type can ever run it."""
        job = JobDemand(
            label,
            resources.cores,
            resources.memory,
            resources.disk,
            resources.accelerator_count,
            resources.preemptible,
        )
        if any(slots(choice, job) > 0 for choice in self.choices):
            return None
        if any(_fits_node(node, job) for node in self.nodes()):  # a node already there (a static one) can run it
            return None
        return unfit_message(job, self.choices)

    def close(self, snapshot: Snapshot) -> None:
        """The workflow ended: stop scaling and remove every node it launched."""
        self.publish(snapshot)
        self._stop.set()  # the driver's loop then shuts down: every node it launched is removed
        self._thread.join(timeout=max(120.0, self.interval))

    def _run(self) -> None:
        self.driver.run(self._stop, time.time, self.interval)


def make_sink(config: Config, batch: BatchSystem) -> AutoscaleSink | None:
    """The autoscaler for a run with ``--provisioner``; None without one."""
    if not config.provisioner:
        return None
    cluster, zone = os.environ.get("TOIL_CLUSTER_NAME"), os.environ.get("TOIL_AWS_ZONE")
    if not cluster or not zone:
        raise ProvisionError(
            f"--provisioner {config.provisioner} scales the cluster this workflow runs on: run it on the leader "
            "of a cluster made by 'toil launch-cluster' (TOIL_CLUSTER_NAME and TOIL_AWS_ZONE are not set)"
        )
    provider = provisioner(config.provisioner, zone)
    prices = provider.prices()
    choices, types = node_choices(config, prices)
    backend = ProvisionedBackend(
        provider,
        cluster,
        types,
        batch_nodes=batch.nodes,
        queue=lambda: sink.queue(),
        drain_node=lambda name: _done(batch.drain_node(name), "drain", name),
        undrain_node=lambda name: _done(batch.undrain_node(name), "undrain", name),
        # refuse() fails a job no node type nor node fits before it is issued; one queued here fits a node already
        # there (a static one), which will run it: the autoscaler only cannot add room for it
        fail=lambda job, message: log.info("No node type to add for it: %s", message),
        reissue_job=lambda job: None,  # the batch system re-issues jobs of a node under notice itself
    )
    state_path = Path(batch.workflow_dir) / STATE_FILE
    driver = AutoscaleDriver.resume(backend, choices, policy_options(config), state_path)
    if config.clusterStats:
        driver.stats_path = Path(config.clusterStats)
    driver.record = lambda report, now: write_cluster_usage(batch.job_store, report.usage(prices.name, now))
    sink = AutoscaleSink(driver, choices, float(config.scaleInterval), batch.nodes)
    log.info(
        "Autoscaling cluster %s in %s: %s, every %d s; prices: %s",
        cluster,
        zone,
        ", ".join(f"{c.key} {c.min_count}-{c.max_count} at ${c.hourly:g}/h" for c in choices),
        config.scaleInterval,
        prices.name,
    )
    return sink


def _fits_node(node: NodeInfo, job: JobDemand) -> bool:
    """Whether the job fits the node's whole shape (a job that is not preemptible never goes to a spot node)."""
    if node.state == "down" or (node.preemptible and not job.preemptible):
        return False
    return node.cores >= job.cores and node.memory >= job.memory


def _done(ok: bool, what: str, name: str) -> None:
    if not ok:
        log.warning("The batch system cannot %s node %s", what, name)
