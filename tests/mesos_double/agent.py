"""The double's agents: each runs its tasks as real processes on this host (the command executor's way:
``sh -c COMMAND`` in a sandbox directory), with cgroup-free resource accounting and a memory limit enforced
by polling the task's process tree's RSS (over it: killed, TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY,
as Mesos reports an OOM)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

SCALARS = ("cpus", "mem", "disk", "gpus")


@dataclass
class RunningTask:
    task_id: str
    framework_id: str
    resources: dict[str, float]
    process: subprocess.Popen | None = None
    state: str = "TASK_STAGING"
    killed: bool = False
    oom: str = ""


@dataclass
class Agent:
    agent_id: str
    hostname: str
    total: dict[str, float]
    attributes: dict[str, str]
    sandbox_root: str
    report: Callable[[RunningTask, str, str, str], None]  # task, state, reason, message
    tasks: dict[str, RunningTask] = field(default_factory=dict)
    active: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def used(self) -> dict[str, float]:
        out = dict.fromkeys(SCALARS, 0.0)
        with self.lock:
            for t in self.tasks.values():
                for k in SCALARS:
                    out[k] += t.resources.get(k, 0.0)
        return out

    def free(self) -> dict[str, float]:
        used = self.used()
        return {k: self.total.get(k, 0.0) - used[k] for k in SCALARS}

    def attribute_messages(self) -> list[dict[str, Any]]:
        return [{"name": k, "type": "TEXT", "text": {"value": v}} for k, v in self.attributes.items()]

    def launch(self, task: dict[str, Any], framework_id: str, resources: dict[str, float]) -> None:
        task_id = task["task_id"]["value"]
        rt = RunningTask(task_id, framework_id, resources)
        with self.lock:
            self.tasks[task_id] = rt
        self.report(rt, "TASK_STARTING", "", "")
        command = task.get("command", {})
        env = dict(os.environ)
        for v in command.get("environment", {}).get("variables", []):
            env[v["name"]] = v.get("value", "")
        sandbox = os.path.join(self.sandbox_root, self.agent_id, task_id)
        os.makedirs(sandbox, exist_ok=True)
        env["MESOS_SANDBOX"] = sandbox
        if command.get("shell", True):
            argv = ["/bin/sh", "-c", command.get("value", "")]
        else:
            argv = [command.get("value", "")] + list(command.get("arguments", [])[1:])
        with open(os.path.join(sandbox, "stdout"), "wb") as out, open(os.path.join(sandbox, "stderr"), "wb") as err:
            try:
                rt.process = subprocess.Popen(
                    argv, cwd=sandbox, env=env, stdout=out, stderr=err, start_new_session=True
                )
            except OSError as e:
                self._end(rt, "TASK_FAILED", "REASON_COMMAND_EXECUTOR_FAILED", f"Failed to launch: {e}")
                return
        rt.state = "TASK_RUNNING"
        self.report(rt, "TASK_RUNNING", "", "")
        threading.Thread(target=self._watch, args=(rt,), daemon=True).start()

    def _watch(self, rt: RunningTask) -> None:
        assert rt.process is not None
        limit = rt.resources.get("mem", 0.0) * 2**20
        while rt.process.poll() is None:
            if limit and not rt.killed and rss(rt.process.pid) > limit:
                used = rss(rt.process.pid) / 2**20
                rt.oom = f"Memory limit exceeded: Requested: {limit / 2**20:.0f}MB Maximum Used: {used:.0f}MB"
                kill_group(rt.process)
            time.sleep(0.1)
        code = rt.process.returncode
        if rt.oom:
            self._end(rt, "TASK_FAILED", "REASON_CONTAINER_LIMITATION_MEMORY", rt.oom)
        elif rt.killed:
            self._end(rt, "TASK_KILLED", "", "Command terminated with signal Killed")
        elif code == 0:
            self._end(rt, "TASK_FINISHED", "", "Command exited with status 0")
        elif code < 0:
            self._end(rt, "TASK_FAILED", "REASON_COMMAND_EXECUTOR_FAILED", f"Command terminated with signal {-code}")
        else:
            self._end(rt, "TASK_FAILED", "REASON_COMMAND_EXECUTOR_FAILED", f"Command exited with status {code}")

    def _end(self, rt: RunningTask, state: str, reason: str, message: str) -> None:
        with self.lock:
            if self.tasks.pop(rt.task_id, None) is None:
                return  # already ended (the agent was lost)
        rt.state = state
        self.report(rt, state, reason, message)

    def kill(self, task_id: str) -> bool:
        with self.lock:
            rt = self.tasks.get(task_id)
        if rt is None:
            return False
        rt.killed = True
        if rt.process is not None:
            kill_group(rt.process)
        return True

    def lose(self) -> list[RunningTask]:
        """The agent dies: its processes are killed and its tasks forgotten, without updates of its own."""
        self.active = False
        with self.lock:
            tasks, self.tasks = list(self.tasks.values()), {}
        for rt in tasks:
            if rt.process is not None:
                kill_group(rt.process)
        return tasks


def rss(pid: int) -> float:
    """The resident memory of a process and its descendants, in bytes."""
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
