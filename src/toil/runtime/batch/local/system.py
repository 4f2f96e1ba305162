"""The single_machine batch system: jobs run in warm worker processes on this machine.

It never runs more than the machine (or --maxCores/--maxMemory/--maxDisk)
allows: each job's cores, memory and disk are reserved while it runs, and a
job waits in a queue until its reservation fits. Jobs run in worker processes
forked from the zygote (zygote.py), each running one job at a time
(workerproc.py); the leader talks to each worker over a Unix socket. A job's
output goes to an in-memory file that becomes a log file only if the job fails.
"""

from __future__ import annotations

import logging
import os
import selectors
import shutil
import signal
import socket
import time
import uuid
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from toil.compiler.ir import Resources
from toil.exceptions import InsufficientSystemResources
from toil.lib.conversions import bytes2human
from toil.lib.host import cpu_count, physical_memory
from toil.lib.hostload import HostLoad, memory_in_use
from toil.runtime.batch.base import BatchContext, BatchJob, BatchSystem, Completion, NodeInfo
from toil.runtime.batch.local.workerproc import Policy, worker_main
from toil.runtime.batch.local.zygote import Channel, Zygote
from toil.runtime.config import Config

if TYPE_CHECKING:
    from toil.runtime.jobstores import JobStore

log = logging.getLogger("toil.batch.local")

LOOKAHEAD = 64  # how far past a job that does not fit the dispatcher looks for one that does
MAX_ZYGOTE_RESTARTS = 5


class _Worker:
    __slots__ = ("id", "pid", "channel", "sock", "job", "need", "memfd", "killed", "done")

    def __init__(self, worker_id: str) -> None:
        self.id = worker_id
        self.pid: int | None = None
        self.channel: Channel | None = None
        self.sock: socket.socket | None = None
        self.job: BatchJob | None = None
        self.need: tuple[int, int, int] = (0, 0, 0)
        self.memfd = -1
        self.killed = False
        self.done = False


class LocalBatchSystem(BatchSystem):
    name = "single_machine"
    auto_deploys = False  # its workers are forks of the leader, which has imported the user's code already

    def __init__(self, context: BatchContext) -> None:
        super().__init__(context)
        config, job_store, workflow_dir = context.config, context.job_store, context.workflow_dir
        self.scale = config.scale
        self.max_cores = min(float(config.maxCores), float(cpu_count()))
        self.max_memory = min(int(config.maxMemory), physical_memory())
        os.makedirs(workflow_dir, exist_ok=True)
        self.max_disk = min(int(config.maxDisk), shutil.disk_usage(workflow_dir).free)
        self.max_accelerators = 0
        self.host_load = HostLoad()  # this machine's CPU in use, for nodes() (the dashboard)
        self._free = [self._millicores(self.max_cores), self.max_memory, self.max_disk]
        self.queue: deque[BatchJob] = deque()
        self.workers: dict[str, _Worker] = {}  # by worker id, from spawn request to exit
        self.by_pid: dict[int, _Worker] = {}
        self.running: dict[str, _Worker] = {}  # token -> worker (spawning or busy)
        self.idle: list[_Worker] = []
        self._done: list[Completion] = []
        self.capture = not config.disableWorkerOutputCapture
        self.keep_logs = bool(config.writeLogsFromAllJobs or config.writeLogs or config.writeLogsGzip)
        self.idle_cap = max(2, cpu_count())
        self.zygote_restarts = 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.address = f"\0toil-{uuid.uuid4().hex}"
        self.listener.bind(self.address)
        self.listener.listen(1024)
        self.listener.setblocking(False)
        policy = Policy(max_jobs=config.maxJobsPerWorker)
        from toil.runtime.worker.attempt import warm_up

        self._logs_to_delete: list[str] = []
        self.zygote = Zygote(
            partial(_worker_entry, self.address, job_store, config, workflow_dir, policy, self.capture),
            lock_path=context.workers_lock_path,
            warm_up=warm_up,
            on_worker_exit=partial(_run_deferred_of_dead_worker, workflow_dir),
            close_in_child=lambda: [self.listener.fileno()],
            close_in_zygote=list(context.leader_fds),
        )
        self.sel = selectors.DefaultSelector()

    # ------------------------------------------------------------------ set-up and limits
    def _millicores(self, cores: float) -> int:
        return int(round(cores * 1000))

    def _need(self, r: Resources) -> tuple[int, int, int]:
        return (self._millicores(r.cores * self.scale), r.memory, r.disk)

    def start(self) -> None:
        self.zygote.start()
        assert self.zygote.channel is not None
        self.sel.register(self.listener, selectors.EVENT_READ, "listener")
        self.sel.register(self.zygote.channel.read_fd, selectors.EVENT_READ, "zygote")

    def check_resources(self, resources: Resources, label: str) -> None:
        problems = []
        if resources.cores * self.scale > self.max_cores + 1e-9:
            problems.append(f"{resources.cores:g} cores (at most {self.max_cores:g})")
        if resources.memory > self.max_memory:
            problems.append(f"{bytes2human(resources.memory)} memory (at most {bytes2human(self.max_memory)})")
        if resources.disk > self.max_disk:
            problems.append(f"{bytes2human(resources.disk)} disk (at most {bytes2human(self.max_disk)})")
        if resources.accelerator_count > self.max_accelerators:
            problems.append(f"{resources.accelerator_count} accelerator(s) (this machine has {self.max_accelerators})")
        if problems:
            raise InsufficientSystemResources(
                f"job {label} requests {', '.join(problems)}: more than the single_machine batch system can "
                f"give (limited by this machine and --maxCores/--maxMemory/--maxDisk)"
            )

    def nodes(self) -> list[NodeInfo]:
        """This machine, within --maxCores/--maxMemory/--maxDisk, and what its running jobs hold of it."""
        return [
            NodeInfo(
                socket.gethostname(),
                "127.0.0.1",
                self.max_cores,
                self.max_memory,
                self.max_disk,
                used_cores=(self._millicores(self.max_cores) - self._free[0]) / 1000,
                used_memory=self.max_memory - self._free[1],
                running_jobs=len(self.running),
                cpu_busy=self.host_load.cores_busy(),
                memory_busy=memory_in_use(),
            )
        ]

    # ------------------------------------------------------------------ issuing
    def issue(self, job: BatchJob) -> None:
        need = self._need(job.resources)
        if not self.queue and self._fits(need):
            self._launch(job, need)
        else:
            self.queue.append(job)

    def _fits(self, need: tuple[int, int, int]) -> bool:
        free = self._free
        return need[0] <= free[0] and need[1] <= free[1] and need[2] <= free[2]

    def _dispatch(self) -> None:
        """Start queued jobs that fit, in order, looking a bounded way past ones that do not."""
        skipped: list[BatchJob] = []
        too_big: set[tuple[int, int, int]] = set()
        looked = 0
        while self.queue and looked < LOOKAHEAD and self._free[0] > 0:
            job = self.queue.popleft()
            need = self._need(job.resources)
            if need not in too_big and self._fits(need):
                self._launch(job, need)
            else:
                too_big.add(need)
                skipped.append(job)
                looked += 1
        self.queue.extendleft(reversed(skipped))

    def _launch(self, job: BatchJob, need: tuple[int, int, int]) -> None:
        for i, n in enumerate(need):
            self._free[i] -= n
        worker = self.idle.pop() if self.idle else self._spawn()
        worker.job, worker.need, worker.killed, worker.done = job, need, False, False
        self.running[job.token] = worker
        if worker.channel is not None:
            self._send_job(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(uuid.uuid4().hex[:12])
        self.workers[worker.id] = worker
        self.zygote.spawn(worker.id)
        return worker

    def _send_job(self, worker: _Worker) -> None:
        job = worker.job
        assert job is not None and worker.channel is not None
        log_path = None
        if self.capture:
            worker.memfd = os.memfd_create("toil-job", os.MFD_CLOEXEC)
            log_path = f"/proc/{os.getpid()}/fd/{worker.memfd}"
        worker.channel.send(("run", job.token, job.message, log_path))

    # ------------------------------------------------------------------ events
    def wait(self, timeout: float) -> list[Completion]:
        if self._done:
            timeout = 0.0
        deadline = time.monotonic() + timeout
        while True:
            for key, _ in self.sel.select(max(0.0, deadline - time.monotonic())):
                if key.data == "listener":
                    self._accept()
                elif key.data == "zygote":
                    self._zygote_events()
                else:
                    self._worker_events(key.data)
            self._flush_pending()
            if self._done or time.monotonic() >= deadline:
                break
        out, self._done = self._done, []
        return out

    def _flush_pending(self) -> None:
        for w in self.workers.values():
            if w.channel is not None and w.channel.pending_output:
                w.channel.flush()
        ch = self.zygote.channel
        if ch is not None and ch.pending_output:
            ch.flush()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            channel = Channel(sock.fileno(), sock.fileno())
            self.sel.register(sock.fileno(), selectors.EVENT_READ, ("new", sock, channel))

    def _worker_events(self, data: Any) -> None:
        if data[0] == "new":
            _, sock, channel = data
            for msg in channel.receive():
                if msg[0] == "hello":
                    self._hello(msg[1], sock, channel)
            if channel.closed:
                self.sel.unregister(sock.fileno())
                sock.close()
            return
        worker: _Worker = data[1]
        self._drain(worker)

    def _hello(self, worker_id: str, sock: socket.socket, channel: Channel) -> None:
        worker = self.workers.get(worker_id)
        self.sel.unregister(sock.fileno())
        if worker is None:
            sock.close()
            return
        worker.sock, worker.channel = sock, channel
        self.sel.register(sock.fileno(), selectors.EVENT_READ, ("worker", worker))
        if worker.job is not None:
            self._send_job(worker)
        else:
            self.idle.append(worker)

    def _drain(self, worker: _Worker) -> None:
        if worker.channel is None:
            return
        for msg in worker.channel.receive():
            if msg[0] == "done":
                _, token, code, cpu, maxrss, recycle, result = msg
                self._finish(
                    worker,
                    Completion(
                        token,
                        code,
                        cpu=cpu,
                        maxrss_kb=maxrss,
                        reason=_describe(code, worker.killed),
                        killed=worker.killed,
                        result=result,
                    ),
                )
                if recycle:
                    self._forget(worker)
                elif len(self.idle) >= self.idle_cap:
                    worker.channel.send(("exit",))
                    self._forget(worker)
                else:
                    self.idle.append(worker)
        if worker.channel is not None and worker.channel.closed:
            self._forget(worker)

    def _zygote_events(self) -> None:
        ch = self.zygote.channel
        assert ch is not None
        for msg in ch.receive():
            if msg[0] == "spawned":
                _, worker_id, pid = msg
                worker = self.workers.get(worker_id)
                if worker is not None:
                    worker.pid = pid
                    self.by_pid[pid] = worker
                    if worker.killed:
                        _kill_group(pid)
            elif msg[0] == "exited":
                _, worker_id, pid, code, cpu, maxrss = msg
                worker = self.workers.pop(worker_id, None)
                self.by_pid.pop(pid, None)
                if worker is None:
                    continue
                self._drain(worker)  # a 'done' may still wait in its socket
                if worker.job is not None and not worker.done:
                    sig = -code if code < 0 else None
                    c = Completion(
                        worker.job.token,
                        None if sig else code,
                        signal=sig,
                        cpu=cpu,
                        maxrss_kb=maxrss,
                        killed=worker.killed,
                        reason=_describe(code, worker.killed, died=True),
                    )
                    c.result = self._partial_result(worker_id, worker.job.token)
                    self._finish(worker, c)
                self._forget(worker)
                log_path = self._results_log(worker_id)
                if log_path:
                    self._logs_to_delete.append(log_path)
        if ch.closed:
            self._zygote_died()

    def _zygote_died(self) -> None:
        """The fork server died (and its workers with it): start a new one, report running jobs as lost."""
        assert self.zygote.channel is not None
        self.sel.unregister(self.zygote.channel.read_fd)
        self.zygote.stop()
        self.zygote_restarts += 1
        if self.zygote_restarts > MAX_ZYGOTE_RESTARTS:
            raise RuntimeError(
                f"the fork server of the single_machine batch system died {self.zygote_restarts} times; giving up"
            )
        log.warning("The fork server died; starting a new one and re-running the jobs it was running")
        lost = [w for w in self.running.values()]
        for worker in list(self.workers.values()):
            self._forget(worker)
        self.workers.clear()
        self.by_pid.clear()
        self.idle.clear()
        self.zygote.start()
        assert self.zygote.channel is not None
        self.sel.register(self.zygote.channel.read_fd, selectors.EVENT_READ, "zygote")
        for worker in lost:
            if worker.job is not None:
                self._finish(worker, Completion(worker.job.token, None, lost=True, reason="the fork server died"))

    def _finish(self, worker: _Worker, c: Completion) -> None:
        """Record a job's end, keep its output if needed, free its resources, start queued jobs."""
        job = worker.job
        if job is None or worker.done:
            return
        worker.done = True
        self.running.pop(job.token, None)
        if worker.memfd >= 0:
            if c.exit_code != 0 or self.keep_logs:
                c.log = self._read_log(worker.memfd)
            os.close(worker.memfd)
            worker.memfd = -1
        for i, n in enumerate(worker.need):
            self._free[i] += n
        worker.job = None
        self._done.append(c)
        self._dispatch()

    def _read_log(self, memfd: int) -> bytes:
        """The job's output (its tail, up to --maxLogFileSize), kept in memory: no disk needed to report it."""
        limit = self.config.maxLogFileSize
        size = os.fstat(memfd).st_size
        start = max(0, size - limit) if limit > 0 else 0
        chunks, offset = [], start
        while offset < size:
            chunk = os.pread(memfd, min(1 << 20, size - offset), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def _forget(self, worker: _Worker) -> None:
        if worker in self.idle:
            self.idle.remove(worker)
        if worker.sock is not None:
            try:
                self.sel.unregister(worker.sock.fileno())
            except (KeyError, ValueError):
                pass
            worker.sock.close()
            worker.sock = None
            worker.channel = None

    def _partial_result(self, worker_id: str, token: str) -> bytes | None:
        """What a worker that died in the middle of a chain had finished, from its results log."""
        import json

        from toil.runtime.jobstores.journal import decode_line
        from toil.runtime.protocol import ResultProgress, gather_results

        path = self._results_log(worker_id)
        if not path or not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            lines = [
                rec
                for rec in map(decode_line, f)
                if rec is not None and rec.get("token") == token and ResultProgress.is_progress(rec)
            ]
        result = gather_results(lines).get(token)
        return json.dumps(result.to_json()).encode() if result is not None else None

    def _results_log(self, worker_id: str) -> str | None:
        return self.job_store.result_log_path(worker_id)

    def after_commit(self) -> None:
        """The leader has journaled every result received so far: exited workers' logs are not needed."""
        for path in self._logs_to_delete:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self._logs_to_delete.clear()

    # ------------------------------------------------------------------ killing and shutdown
    def kill(self, tokens: list[str]) -> None:
        wanted = set(tokens)
        kept: deque[BatchJob] = deque()
        for job in self.queue:
            if job.token in wanted:
                self._done.append(Completion(job.token, None, killed=True, reason="killed before it started"))
            else:
                kept.append(job)
        self.queue = kept
        for token in wanted & set(self.running):
            worker = self.running[token]
            worker.killed = True
            if worker.pid is not None:
                _kill_group(worker.pid)

    def shutdown(self) -> None:
        self.queue.clear()
        self.zygote.stop()
        for worker in list(self.workers.values()):
            if worker.memfd >= 0:
                os.close(worker.memfd)
            self._forget(worker)
        self.workers.clear()
        self.running.clear()
        try:
            self.listener.close()
        except OSError:
            pass

    def issued_tokens(self) -> list[str]:
        return [j.token for j in self.queue] + list(self.running)

    def running_tokens(self) -> list[str]:
        return list(self.running)

    def batch_ids(self) -> dict[str, str]:
        return {token: str(w.pid) for token, w in self.running.items() if w.pid is not None}

    @classmethod
    def kill_batch_ids(cls, ids: list[str]) -> None:
        for pid in ids:
            if pid.isdigit():
                _kill_group(int(pid))

    def queued_tokens(self) -> list[str]:
        return [j.token for j in self.queue]


def _worker_entry(
    address: str, job_store: JobStore, config: Config, workflow_dir: str, policy: Policy, capture: bool, worker_id: str
) -> None:
    """In a new worker process: run jobs with a scratch directory and a results log of its own."""
    from toil.runtime.worker.attempt import AppendLogSink, ResultSink, run_attempt

    scratch = os.path.join(workflow_dir, f"worker-{worker_id}")
    log_path = job_store.result_log_path(worker_id)
    sink = AppendLogSink(log_path) if log_path else ResultSink(job_store)

    def run_job(message: dict[str, Any]) -> tuple[int, bytes]:
        return run_attempt(job_store, config, message, workflow_dir, sink=sink, scratch=scratch)

    try:
        worker_main(address, worker_id, run_job, policy, capture)
    finally:
        import shutil as _shutil

        _shutil.rmtree(scratch, ignore_errors=True)


def _run_deferred_of_dead_worker(workflow_dir: str, pid: int, code: int) -> None:
    from toil.runtime.worker.deferred import run_orphaned

    run_orphaned(os.path.join(workflow_dir, "deferred"), pid)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _describe(code: int | None, killed: bool, died: bool = False) -> str:
    if killed:
        return "killed on request"
    if code is None:
        return "lost"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if died:
        return f"its process exited with code {code} before the job finished"
    return f"exit code {code}"
