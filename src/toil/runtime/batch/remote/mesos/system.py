"""``--batchSystem mesos --mesosMaster HOST:PORT``: each job, or each pack of tiny jobs, as one Mesos task.

The leader is a framework (``--mesosName``, ``--mesosRole``) of the master, through the v1 scheduler HTTP API
(client.py; framework.py handles its events). Each task runs ``python -m toil.cli.worker_main JOBSTORE
MESSAGE`` with the command executor on an agent whose offer fits its cores, memory, disk and GPUs; agents
with the attribute ``preemptible:True`` take only preemptible jobs. The framework's id is kept in the job
store, so a leader restarted after a crash subscribes as the same framework and kills what the dead one left;
every leader exit tears the framework down, which kills its tasks. The agents reach the job store over the
network (``aws:``) or through a file system they share with the leader (a ``file:`` store).
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
import uuid
from typing import Any

from toil.exceptions import ToilUserError
from toil.lib.misc import get_public_ip, get_user_name
from toil.runtime.batch.base import BatchContext, BatchJob, NodeInfo
from toil.runtime.batch.remote.base import WORKER_MODULES, JobState, Launch, RemoteBatchSystem, SubmitRejected
from toil.runtime.batch.remote.kubernetes.system import forwarded_environment
from toil.runtime.batch.remote.mesos.client import MesosError
from toil.runtime.batch.remote.mesos.framework import FAILOVER_SECONDS, Framework, Task
from toil.runtime.batch.remote.mesos.offers import MIB, PendingTask, Shape, is_preemptible, may_run, task_shape

log = logging.getLogger("toil.batch.mesos")

FRAMEWORK_MESSAGE = "mesos-framework-id"  # the job store message naming the workflow's framework
AGENTS_SECONDS = 30.0  # how long the agents' sizes are trusted when refusing a job too large for all of them
LEFTOVER_QUIET_SECONDS = 1.0  # reconciliation is over when no update came for this long ...
LEFTOVER_MAX_SECONDS = 5.0  # ... or after this long


class MesosBatchSystem(RemoteBatchSystem):
    name = "mesos"
    shares_leader_files = False  # agents are other machines: the front ends import input files into the job store

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        c = self.config
        self.endpoint = c.mesos_endpoint or f"{get_public_ip()}:5050"
        self.area = self.job_store.local_area("batch")
        self.counter = 0
        self.prefix = f"{self.label}-{uuid.uuid4().hex[:6]}"
        self.framework: Framework | None = None
        self._agents: tuple[float, list[dict[str, Any]]] = (0.0, [])

    # ------------------------------------------------------------------ life
    def framework_info(self) -> dict[str, Any]:
        c = self.config
        info: dict[str, Any] = {
            "user": get_user_name(),
            "name": c.mesos_name,
            "failover_timeout": FAILOVER_SECONDS,
            "capabilities": [{"type": "GPU_RESOURCES"}],
        }
        if c.mesos_role:
            info["roles"] = [c.mesos_role]
            info["capabilities"].append({"type": "MULTI_ROLE"})
        return info

    def start(self) -> None:
        framework = Framework(self.endpoint, self.framework_info())
        framework.client.framework_id = self.config.mesos_framework_id or self._stored_framework_id()
        try:
            framework.subscribe()
        except MesosError as e:
            raise ToilUserError(f"{e} (--mesosMaster {self.endpoint})") from None
        self.framework = framework
        if framework.framework_id:
            self.job_store.write_message(FRAMEWORK_MESSAGE, framework.framework_id.encode())
        log.info("Registered with the Mesos master at %s as framework %s", self.endpoint, framework.framework_id)
        self.cancel_leftovers()

    def _stored_framework_id(self) -> str | None:
        try:
            return self.job_store.read_message(FRAMEWORK_MESSAGE).decode().strip() or None
        except KeyError:
            return None

    def cancel_leftovers(self) -> None:
        """Ask the master for every task of this framework (implicit reconciliation): those still alive are a
        previous leader's, and the framework kills them as their updates arrive (framework.py)."""
        fw = self._fw()
        started = time.time()
        fw.last_update = started
        fw.reconcile()
        while time.time() - started < LEFTOVER_MAX_SECONDS and time.time() - fw.last_update < LEFTOVER_QUIET_SECONDS:
            time.sleep(0.1)
        if fw.leftovers:
            log.info("Killed %d Mesos task(s) a previous leader of this workflow left", len(fw.leftovers))

    def shutdown(self) -> None:
        super().shutdown()
        if self.framework is not None:
            self.framework.teardown()
            self.job_store.delete_message(FRAMEWORK_MESSAGE)
            self.framework = None

    def _fw(self) -> Framework:
        if self.framework is None:
            raise ToilUserError("the mesos batch system is not started")
        return self.framework

    # ------------------------------------------------------------------ the remote base's hooks
    def log_target(self, name: str) -> str | None:
        return os.path.join(self.area, f"{name}.log") if self.area else None

    def submit(self, job: BatchJob, launch: Launch) -> str:
        fw = self._fw()
        shape = task_shape(job.resources)
        preemptible = job.resources.preemptible
        self._refuse_if_no_agent_fits(shape, preemptible)
        self.counter += 1
        task_id = f"{self.prefix}-{self.counter}"
        argv = [sys.executable, "-m", WORKER_MODULES[launch.kind], launch.job_store, launch.message]
        command = "exec " + shlex.join(argv)
        if launch.log:
            os.close(os.open(launch.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            command += f" >>{shlex.quote(launch.log)} 2>&1"
        variables = [{"name": k, "value": v} for k, v in sorted(forwarded_environment(self.config).items())]
        info = {
            "name": (job.label or job.name or "toil job")[:200],
            "task_id": {"value": task_id},
            "command": {"shell": True, "value": command, "environment": {"variables": variables}},
            "labels": {"labels": [{"key": "toil_run", "value": self.label}]},
        }
        fw.add(PendingTask(task_id, shape, preemptible, info))
        return task_id

    def _refuse_if_no_agent_fits(self, shape: Shape, preemptible: bool) -> None:
        """A job larger than every agent that may run it is refused at once (unless an autoscaler may add one)."""
        if self.config.provisioner:
            return
        agents = [a for a in self._agent_list() if may_run(preemptible, is_preemptible(a.get("attributes", {})))]
        if not agents or any(shape.fits_in(agent_shape(a)) for a in agents):
            return
        largest = max(agents, key=lambda a: (agent_shape(a).mem, agent_shape(a).cpus))
        kind = "" if preemptible else "non-preemptible "
        raise SubmitRejected(
            f"no {kind}Mesos agent can run a job of {shape.describe()} "
            f"(the largest has {agent_shape(largest).describe()})"
        )

    def _agent_list(self, fresh: bool = False) -> list[dict[str, Any]]:
        when, agents = self._agents
        if fresh or time.time() - when > AGENTS_SECONDS:
            try:
                agents = list(self._fw().client.get_json("/master/slaves").get("slaves", []))
            except (MesosError, ValueError) as e:
                log.debug("Cannot list the Mesos agents: %s", e)
            self._agents = (time.time(), agents)
        return agents

    def query(self) -> dict[str, JobState]:
        fw = self._fw()
        with fw.lock:
            if fw.broken:
                raise ToilUserError(fw.broken)
            states = {task_id: JobState(task_id, "pending") for task_id in fw.pending}
            states.update({task_id: task.state for task_id, task in fw.tasks.items()})
            for task_id in [t for t, s in states.items() if s.state not in ("pending", "running")]:
                fw.tasks.pop(task_id, None)  # read once: the base finishes it now
        return states

    def cancel(self, ids: list[str]) -> None:
        fw = self.framework
        if fw is None:  # never started, or already torn down (which killed every task)
            return
        kill: list[tuple[str, str]] = []
        with fw.lock:
            for task_id in ids:
                if fw.pending.pop(task_id, None) is not None:
                    fw.tasks[task_id] = _cancelled(task_id)
                elif task_id in fw.tasks:
                    kill.append((task_id, fw.tasks[task_id].agent_id))
        for task_id, agent_id in kill:
            fw.kill(task_id, agent_id)
        fw.news.set()

    def idle(self, seconds: float) -> bool:
        fw = self.framework
        if fw is None:
            time.sleep(seconds)
            return False
        news = fw.news.wait(seconds)
        fw.news.clear()
        return news

    # ------------------------------------------------------------------ for 'toil kill --force'
    def batch_ids(self) -> dict[str, str]:
        """Each job's task, with what reaches it once this leader is dead: ``TASK@FRAMEWORK@MASTER``."""
        fid = self.framework.framework_id if self.framework else None
        return {token: f"{batch_id}@{fid}@{self.endpoint}" for token, batch_id in super().batch_ids().items()}

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        """Subscribe as each dead leader's framework (within its failover timeout) and tear it down."""
        for fid, endpoint in sorted({tuple(i.split("@", 2)[1:]) for i in ids if i.count("@") >= 2}):
            if fid == "None":
                continue
            framework = Framework(endpoint, {"user": get_user_name(), "name": "toil", "id": {"value": fid},
                                             "failover_timeout": FAILOVER_SECONDS})  # fmt: skip
            framework.client.framework_id = fid
            try:
                framework.client.subscribe(framework.framework_info)
            except MesosError as e:
                log.warning("Cannot tear down Mesos framework %s: %s", fid, e)
                continue
            framework.teardown()

    # ------------------------------------------------------------------ for the autoscaler
    def nodes(self) -> list[NodeInfo]:
        if self.framework is None:
            return []
        fw = self.framework
        with fw.lock:
            per_agent: dict[str, int] = {}
            for task in fw.tasks.values():
                if task.state.state == "running":
                    per_agent[task.agent_id] = per_agent.get(task.agent_id, 0) + 1
        out = []
        for a in self._agent_list(fresh=True):
            total, used = agent_shape(a), agent_shape(a, "used_resources")
            out.append(
                NodeInfo(
                    name=str(a.get("id", "")),
                    address=str(a.get("hostname", "")),
                    cores=total.cpus,
                    memory=int(total.mem * MIB),
                    disk=int(total.disk * MIB),
                    preemptible=is_preemptible(a.get("attributes", {})),
                    used_cores=used.cpus,
                    used_memory=int(used.mem * MIB),
                    running_jobs=per_agent.get(str(a.get("id", "")), 0),
                    state="up" if a.get("active", True) else "down",
                )
            )
        return out


def agent_shape(agent: dict[str, Any], key: str = "resources") -> Shape:
    """An agent's resources (or used resources) as /master/slaves gives them."""
    r = agent.get(key, {}) or {}
    return Shape(float(r.get("cpus", 0)), float(r.get("mem", 0)), float(r.get("disk", 0)), float(r.get("gpus", 0)))


def _cancelled(task_id: str) -> Task:
    return Task(task_id, "", JobState(task_id, "cancelled", None, "cancelled before Mesos launched it"), "TASK_KILLED")
