"""``--batchSystem kubernetes``: each job, or each pack of tiny jobs, as a ``batch/v1`` Job in the appliance.

The cluster is the one ``KUBECONFIG`` (or ``~/.kube/config``) names, or the pod's own service account inside a
cluster; the namespace is the context's. Every object carries the workflow's label (``toil_run``), so one
selector watches, counts and deletes them all: at the end of the run, on ``toil kill``, and when a restarted
leader clears what a killed one left. A watch on the workflow's pods (watch.py) replaces per-job polling;
finished Jobs are deleted as soon as their state is read. The pods reach the job store over the network
(``aws:``) or through the host path shared with --kubernetesHostPath (a ``file:`` store under it).
"""

from __future__ import annotations

import getpass
import logging
import os
import time
import uuid
from typing import Any

from toil.exceptions import ToilUserError
from toil.runtime.batch.base import BatchContext, BatchJob, ContainerSupport, NodeInfo
from toil.runtime.batch.remote.base import (
    WORKER_MODULES,
    JobState,
    Launch,
    RemoteBatchSystem,
    SubmitRejected,
    Submitted,
    one_line,
)
from toil.runtime.batch.remote.kubernetes import specs
from toil.runtime.batch.remote.kubernetes.states import PodView, job_state, no_pod_state
from toil.runtime.batch.remote.kubernetes.watch import PodWatch, wait_changed
from toil.runtime.config import Config, is_secret_name

log = logging.getLogger("toil.batch.kubernetes")

# The leader's variables its pods get (credentials go in a Secret): job store endpoints and credentials, Toil's.
FORWARDED_PREFIXES = ("TOIL_", "AWS_", "AZURE_", "STORAGE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
# ... except what names this machine's paths or this leader's choices.
NOT_FORWARDED = {"TOIL_WORKDIR", "TOIL_COORDINATION_DIR", "TOIL_KUBERNETES_HOST_PATH", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE"}  # fmt: skip
NODE_SIZES_SECONDS = 30.0  # how long the nodes' sizes are trusted when refusing a job too large for all of them


def connect() -> tuple[Any, str]:
    """An API client for the cluster this process is configured for, and its namespace; one line if none."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise ToilUserError(
            "the kubernetes batch system needs the kubernetes client: pip install 'toil[kubernetes]'"
        ) from None
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
            config.load_incluster_config()
            with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
                return client.ApiClient(), f.read().strip() or "default"
        config.load_kube_config()
        _, active = config.list_kube_config_contexts()
        namespace = (active or {}).get("context", {}).get("namespace") or "default"
        if not client.Configuration.get_default_copy().verify_ssl:
            # the kubeconfig says insecure-skip-tls-verify: the user chose it; one warning per request is noise
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return client.ApiClient(), namespace
    except (config.ConfigException, OSError) as e:
        where = "KUBECONFIG, ~/.kube/config, or a pod's service account"
        raise ToilUserError(f"cannot find a Kubernetes cluster ({where}): {one_line(str(e))}") from None


def api_error(e: Exception) -> str:
    """The one line Kubernetes gave for a refused request."""
    import json

    body = getattr(e, "body", None)
    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        message = None
    return one_line(message or getattr(e, "reason", None) or str(e))


def default_owner() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "toil"
    return specs.dns_label(user, 20)


class KubernetesBatchSystem(RemoteBatchSystem):
    name = "kubernetes"
    shares_leader_files = False  # a pod sees only the job store and --kubernetesHostPath

    @classmethod
    def worker_containers(cls, config: Config) -> ContainerSupport:
        """Podman in the appliance, which needs a privileged pod (as Toil's Singularity does)."""
        if config.kubernetes_privileged:
            return ContainerSupport(("podman",))
        return ContainerSupport((), "pods run containers (Podman, in the appliance) with --kubernetesPrivileged true")

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        c = self.config
        self.owner = specs.dns_label(c.kubernetes_owner or default_owner(), 20)
        self.pod_timeout = float(c.kubernetes_pod_timeout)
        # This leader's Jobs: the workflow's id, then this leader's, so a restarted leader's names are new.
        wf = (c.workflowID or "wf").replace("-", "")[:10]
        self.prefix = specs.dns_label(f"{self.owner}-toil-{wf}-{uuid.uuid4().hex[:6]}", 50)
        self.counter = 0
        self.created: dict[str, float] = {}  # Job name -> when it was created
        self.cancelled: set[str] = set()
        self.reap: list[str] = []  # Jobs whose end the leader has read: deleted at the next query
        self.logs: dict[str, bytes] = {}  # batch id -> the output of a job that ended (read before the Job goes)
        self._node_sizes: tuple[float, list[NodeInfo]] = (0.0, [])
        self.api: Any = None
        self.watch: PodWatch | None = None

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        from kubernetes import client

        self.api, self.namespace = connect()
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self._check_job_store()
        self._check_service_account()
        self.cancel_leftovers()
        self.settings = self._settings()
        self.watch = PodWatch(self.core, self.namespace, self.label)
        self.watch.start()

    def _check_job_store(self) -> None:
        area = self.job_store.local_area("batch")
        if area is None:
            return  # an object store: the pods reach it over the network
        host_path = self.config.kubernetes_host_path
        where = os.path.realpath(area)
        if not host_path or os.path.commonpath([where, os.path.realpath(host_path)]) != os.path.realpath(host_path):
            raise ToilUserError(
                f"the kubernetes batch system's pods cannot reach the job store {self.job_store.locator}: use an "
                f"aws: job store, or a file: job store under --kubernetesHostPath (a path every node has)"
            )

    def _check_service_account(self) -> None:
        account = self.config.kubernetes_service_account
        if not account:
            return
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.read_namespaced_service_account(account, self.namespace)
        except ApiException as e:
            raise ToilUserError(
                f"--kubernetesServiceAccount {account}: not usable in namespace {self.namespace}: {api_error(e)}"
            ) from None

    def _settings(self) -> specs.PodSettings:
        from toil.lib.appliance import applianceSelf

        try:
            image = applianceSelf()
        except ValueError as e:
            raise ToilUserError(str(e)) from None
        env = forwarded_environment(self.config)
        secrets = {k: v for k, v in env.items() if is_secret_name(k)}
        plain = {k: v for k, v in env.items() if k not in secrets}
        secret_name = None
        settings = specs.PodSettings(
            image=image,
            namespace=self.namespace,
            run_label=self.label,
            owner=self.owner,
            environment=plain,
            host_path=self.config.kubernetes_host_path,
            service_account=self.config.kubernetes_service_account,
            privileged=bool(self.config.kubernetes_privileged),
        )
        if secrets:
            secret_name = f"{self.prefix}-env"
            self.core.create_namespaced_secret(self.namespace, specs.secret_manifest(settings, secret_name, secrets))
        from dataclasses import replace

        return replace(settings, secret=secret_name)

    def cancel_leftovers(self) -> None:
        """Everything of this workflow a previous leader left (Jobs, pods, its Secret): deleted before starting.

        Finished results are in the job store already, where this leader picks them up.
        """
        jobs = self.batch.list_namespaced_job(self.namespace, label_selector=self._selector()).items
        if jobs:
            log.info("Deleting %d Kubernetes job(s) a previous leader of this workflow left", len(jobs))
        self._delete_all()

    def shutdown(self) -> None:
        super().shutdown()
        if self.watch is not None:
            self.watch.stop()
        if self.api is not None:
            self._delete_all()

    def _selector(self) -> str:
        return f"{specs.RUN_LABEL}={self.label}"

    def _delete_all(self, patience: float = 30.0) -> None:
        """Delete every Job, pod and Secret of the workflow, by its label, and check none is left.

        Three collection deletes, however many jobs; then a list by label, so an object a delete missed (a
        request the server dropped under load) is deleted by name, for up to ``patience`` seconds.
        """
        deadline = time.time() + patience
        self._delete_collections()
        while True:
            left = self._leftovers()
            if not left:
                return
            if time.time() >= deadline:
                names = ", ".join(f"{kind}/{name}" for kind, name in left[:5])
                log.warning("Kubernetes objects of this workflow are left (delete them by label %s): %s",
                            self._selector(), names)  # fmt: skip
                return
            for kind, name in left:
                self._delete_one(kind, name)
            time.sleep(1.0)

    def _delete_collections(self) -> None:
        selector = self._selector()
        calls: tuple[tuple[Any, dict[str, Any]], ...] = (
            (self.batch.delete_collection_namespaced_job, {"propagation_policy": "Background"}),
            (self.core.delete_collection_namespaced_pod, {"grace_period_seconds": 0}),
            (self.core.delete_collection_namespaced_secret, {}),
        )
        for call, extra in calls:
            try:
                call(self.namespace, label_selector=selector, **extra)
            except Exception as e:  # an API refusal or a dropped connection: the check after says what is left
                log.warning("Could not delete the workflow's Kubernetes objects: %s", api_error(e))

    def _leftovers(self) -> list[tuple[str, str]]:
        """(kind, name) of every Job, pod and Secret still carrying the workflow's label and not being deleted."""
        selector = self._selector()
        lists = (("job", self.batch.list_namespaced_job), ("pod", self.core.list_namespaced_pod),
                 ("secret", self.core.list_namespaced_secret))  # fmt: skip
        out: list[tuple[str, str]] = []
        for kind, call in lists:
            try:
                items = call(self.namespace, label_selector=selector).items
            except Exception as e:
                log.warning("Could not list the workflow's Kubernetes objects: %s", api_error(e))
                continue
            out += [(kind, o.metadata.name) for o in items if o.metadata.deletion_timestamp is None]
        return out

    def _delete_one(self, kind: str, name: str) -> None:
        calls = {
            "job": lambda: self.batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background"),
            "pod": lambda: self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0),
            "secret": lambda: self.core.delete_namespaced_secret(name, self.namespace),
        }
        try:
            calls[kind]()
        except Exception as e:
            if getattr(e, "status", None) != 404:
                log.warning("Could not delete Kubernetes %s %s: %s", kind, name, api_error(e))

    # ------------------------------------------------------------------ the remote base's hooks
    def submit(self, job: BatchJob, launch: Launch) -> str:
        from kubernetes.client.exceptions import ApiException

        self._refuse_if_too_large(job)
        self.counter += 1
        name = f"{self.prefix}-{self.counter}"
        command = ["python3", "-m", WORKER_MODULES[launch.kind], launch.job_store, launch.message]
        labels = {"toil_kind": launch.kind}
        manifest = specs.job_manifest(self.settings, name, command, job.resources, labels)
        try:
            self.batch.create_namespaced_job(self.namespace, manifest)
        except ApiException as e:
            if e.status is not None and 400 <= e.status < 500 and e.status not in (409, 429):
                raise SubmitRejected(f"Kubernetes refused the job: {api_error(e)}") from None
            raise
        self.created[name] = time.time()
        return name

    def query(self) -> dict[str, JobState]:
        self._reap()
        assert self.watch is not None
        pods = self.watch.pods()
        now = time.time()
        out: dict[str, JobState] = {}
        for name in self.watched_ids():
            pod = pods.get(name)
            if pod is None:
                st = no_pod_state(name, now - self.created.get(name, now), self.pod_timeout, [])
                if st.state == "failed":
                    st = no_pod_state(name, now - self.created.get(name, now), self.pod_timeout, self._events(name))
            else:
                st = job_state(name, pod, now, self.pod_timeout, killed=name in self.cancelled)
            out[name] = st
            if st.state not in ("pending", "running"):
                self.reap.append(name)
        return out

    def idle(self, seconds: float) -> bool:
        return wait_changed(self.watch, seconds) if self.watch is not None else super().idle(seconds)

    def refine(self, st: JobState, sub: Submitted) -> JobState:
        """Keep the output of a job that failed (or of every job, with --writeLogs) before its Job is deleted."""
        if st.state != "done" or self.keep_logs:
            pod = self.watch.pods().get(sub.batch_id) if self.watch is not None else None
            text = self._pod_log(pod) if pod is not None else None
            if text is not None:
                self.logs[sub.batch_id] = text
        return st

    def cancel(self, ids: list[str]) -> None:
        from kubernetes.client.exceptions import ApiException

        for name in ids:
            self.cancelled.add(name)
            try:
                self.batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background")
            except ApiException as e:
                if e.status != 404:
                    log.warning("Could not delete Kubernetes job %s: %s", name, api_error(e))

    def cancel_workflow(self, ids: list[str]) -> None:
        self.cancelled.update(ids)
        self._delete_all()

    def _reap(self) -> None:
        """Delete the Jobs whose end the leader has read, so a long run does not fill the API server."""
        done, self.reap = self.reap, []
        self.cancel([n for n in done if n not in self.cancelled])
        for name in done:
            self.created.pop(name, None)
            self.cancelled.discard(name)
        if self.watch is not None:
            self.watch.forget(done)

    # ------------------------------------------------------------------ what a job is told
    def _refuse_if_too_large(self, job: BatchJob) -> None:
        """A job no node could ever hold is refused now, naming the largest node, instead of pending forever."""
        nodes = self._sizes()
        if not nodes:
            return
        r = job.resources
        memory = max(r.memory, specs.WORKER_MEMORY_FLOOR)

        def fits(n: NodeInfo) -> bool:
            return r.cores <= n.cores + 1e-9 and memory <= n.memory and (not n.disk or r.disk <= n.disk)

        if any(fits(n) for n in nodes):
            return
        big = max(nodes, key=lambda n: (n.cores, n.memory))
        asked = f"{r.cores:g} cores, {_gib(memory)} memory and {_gib(r.disk)} disk"
        has = f"{big.cores:g} cores, {_gib(big.memory)} memory and {_gib(big.disk)} disk"
        raise SubmitRejected(f"it asks for {asked}, more than any node has; the largest node, {big.name}, has {has}")

    def _sizes(self) -> list[NodeInfo]:
        when, nodes = self._node_sizes
        if time.time() - when > NODE_SIZES_SECONDS:
            nodes = self.nodes()
            self._node_sizes = (time.time(), nodes)
        return nodes

    def drain_node(self, name: str) -> bool:
        """Cordon the node: no new pods there (an autoscaler is about to remove it)."""
        return self._cordon(name, True)

    def undrain_node(self, name: str) -> bool:
        return self._cordon(name, False)

    def _cordon(self, name: str, unschedulable: bool) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.patch_node(name, {"spec": {"unschedulable": unschedulable}})
        except ApiException as e:
            log.warning("Cannot %s node %s: %s", "cordon" if unschedulable else "uncordon", name, e.reason)
            return False
        return True

    def nodes(self) -> list[NodeInfo]:
        """The cluster's nodes with what each can give to pods (allocatable), and whether each is spot capacity."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.utils import parse_quantity

        try:
            items = self.core.list_node().items
        except ApiException:
            return []
        used = self._used_by_node()
        out = []
        for node in items:
            alloc = node.status.allocatable or {}
            cores, memory, count = used.get(node.metadata.name, (0.0, 0, 0))
            labels = node.metadata.labels or {}
            ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
            internal = [a.address for a in node.status.addresses or [] if a.type == "InternalIP"]
            out.append(
                NodeInfo(
                    node.metadata.name,
                    internal[0] if internal else "",  # the instance's private address, as the provider knows it
                    cores=float(parse_quantity(alloc.get("cpu", "0"))),
                    memory=int(parse_quantity(alloc.get("memory", "0"))),
                    disk=int(parse_quantity(alloc.get("ephemeral-storage", "0"))),
                    preemptible=any(labels.get(k) in v for k, v in specs.PREEMPTIBLE_LABELS),
                    state=_node_state(ready, bool(node.spec.unschedulable), specs.SPOT_NOTICE_LABEL in labels),
                    node_type=labels.get("node.kubernetes.io/instance-type")
                    or labels.get("beta.kubernetes.io/instance-type", ""),
                    used_cores=cores,
                    used_memory=memory,
                    running_jobs=count,
                )
            )
        return out

    def _used_by_node(self) -> dict[str, tuple[float, int, int]]:
        """Per node: the cores and memory this workflow's pods placed there asked for, and how many jobs they run.

        The autoscaler retires only nodes running none of them; the dashboard shows what they reserve.
        """
        pods = self.watch.pods() if self.watch is not None else {}
        used: dict[str, tuple[float, int, int]] = {}
        for sub in list(self.jobs.values()):
            pod = pods.get(sub.batch_id)
            if pod is None or not pod.node or pod.deleted or pod.phase not in ("Pending", "Running"):
                continue
            cores, memory, count = used.get(pod.node, (0.0, 0, 0))
            need = sub.job.resources
            used[pod.node] = (cores + need.cores, memory + need.memory, count + 1)
        return used

    def _events(self, name: str) -> list[str]:
        """What Kubernetes said about the Job ``name`` (e.g. why it made no pod), oldest first."""
        from kubernetes.client.exceptions import ApiException

        try:
            events = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}").items
        except ApiException:
            return []
        return [f"{e.reason}: {one_line(e.message or '')}" for e in events if e.type == "Warning"]

    def _pod_log(self, pod: PodView) -> bytes | None:
        from kubernetes.client.exceptions import ApiException

        try:
            text = self.core.read_namespaced_pod_log(pod.name, self.namespace, container=specs.CONTAINER_NAME)
        except ApiException:
            return None
        return str(text).encode()

    # ------------------------------------------------------------------ reporting
    def read_log(self, completion: Any) -> bytes | None:
        if completion.batch_id in self.logs:
            return self.logs[completion.batch_id]
        return super().read_log(completion)

    def discard_log(self, completion: Any) -> None:
        self.logs.pop(completion.batch_id or "", None)
        super().discard_log(completion)

    def batch_ids(self) -> dict[str, str]:
        """Each running job's pod (toil status shows it), or its Job while it has none."""
        pods = self.watch.pods() if self.watch is not None else {}
        return {t: (pods[s.batch_id].name if s.batch_id in pods else s.batch_id) for t, s in self.jobs.items()}

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        """Delete the Jobs of these pods (or Jobs), for ``toil kill --force`` without a leader."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if not ids:
            return
        api, namespace = connect()
        jobs = client.BatchV1Api(api)
        for name in sorted(set(ids)):
            for job_name in (name, name.rsplit("-", 1)[0]):
                try:
                    jobs.delete_namespaced_job(job_name, namespace, propagation_policy="Background")
                    break
                except ApiException as e:
                    if e.status != 404:
                        raise ToilUserError(f"cannot delete Kubernetes job {job_name}: {api_error(e)}") from None


def forwarded_environment(config: Any) -> dict[str, str]:
    """The variables the workflow's pods get: the leader's job store endpoints and credentials, and --setEnv."""
    env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIXES) and k not in NOT_FORWARDED}
    env.update({k: str(v) for k, v in (config.environment or {}).items() if v is not None})
    return env


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def _node_state(ready: bool, cordoned: bool, noticed: bool) -> str:
    """up | draining (cordoned) | notice (cordoned by its node agent on a spot interruption notice) | down."""
    if not ready:
        return "down"
    if noticed:
        return "notice"
    return "draining" if cordoned else "up"
