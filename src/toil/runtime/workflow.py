"""One workflow's life: create or resume its job store, run the leader, clean up.

``toil.common.Toil`` is a thin facade over this class. The order of
operations is what makes runs safe to kill and resume:

1. lock the job store (one leader at a time);
2. on restart, wait for the previous leader's job processes to be gone;
3. start the batch system (fork the zygote before building large state);
4. start: compile the root graph, journal it; restart: replay the journal;
5. run the leader loop; 6. clean up per --clean.
"""

from __future__ import annotations

import logging
import os
import reprlib
import shutil
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, TypeAlias

from toil.compiler.ir import IR_VERSION, NodeSpec
from toil.exceptions import (
    JobStoreExistsException,
    NoSuchJobStoreException,
    ToilRestartException,
    ToilUserError,
    WorkflowInterrupted,
)
from toil.lib.host import pid_alive
from toil.runtime.bulk import paused_gc
from toil.runtime.config import Config
from toil.runtime.jobstores import JobStore, open_job_store
from toil.runtime.scheduling import WorkflowState

if TYPE_CHECKING:
    from toil.runtime.batch.base import BatchSystem
    from toil.runtime.worker.realtime import RealtimeServer

log = logging.getLogger("toil.common")

# How a front end reads its workflow's result: (job store, root node id) -> the value start() returns.
# (job store, root node id, the return values the journal holds that reading the root's may need)
RootReader = Callable[[JobStore, "str | None", dict[str, bytes]], Any]

PREVIOUS_WORKERS_WAIT = 120.0


class Workflow:
    def __init__(self, config: Config) -> None:
        if not config.jobStore:
            raise ToilUserError("no job store given: pass a path or file:PATH")
        self.config = config
        self.job_store: JobStore = open_job_store(config.jobStore)
        self.created_here = False
        self.started = False  # a workflow was recorded in the job store (init record or earlier)
        self.succeeded = False
        self.workflow_dir: str | None = None
        self._locked = False
        self._realtime: RealtimeServer | None = None
        # How the front end reads the root's return value (start and restart return it); None: no value
        self.root_reader: RootReader | None = None
        # The root job's module, whose code workers need when __main__ is no Python file (a console script)
        self.user_module: str | None = None

    # ------------------------------------------------------------------ open and close
    def open(self) -> None:
        js = self.job_store
        if self.config.restart:
            if not js.exists():
                raise NoSuchJobStoreException(
                    js.locator, ", so there is no workflow to restart; run without --restart to start one"
                )
            js.lock_leader()
            self._locked = True
            meta = js.read_meta()
            if meta.get("ir_version") != IR_VERSION:
                raise ToilUserError(
                    f"the job store {js.locator} was written with job graph format "
                    f"{meta.get('ir_version')}, and this version of toil reads format {IR_VERSION}"
                )
            self._adopt_stored_config(meta)
            self.started = True
        else:
            if js.exists():
                if not self._holds_a_workflow():
                    # A previous run died before recording anything: there is nothing to lose.
                    log.warning("Reusing the job store %s: it holds no started workflow", js.locator)
                    js.destroy()
                else:
                    raise JobStoreExistsException(js.locator)
            self.config.assign_workflow_id()
            js.create(
                {
                    "workflow_id": self.config.workflowID,
                    "ir_version": IR_VERSION,
                    "config": self.config.to_json(),
                    "main": _main_script(),
                }
            )
            self.created_here = True
            js.lock_leader()
            self._locked = True
        self.job_store.config = self.config
        self.workflow_dir = os.path.join(self.config.work_dir(), f"toil-{self.config.workflowID}")
        os.makedirs(self.workflow_dir, mode=0o700, exist_ok=True)

    def _holds_a_workflow(self) -> bool:
        try:
            self.job_store.read_meta()
        except ToilUserError:
            return True  # not ours, or damaged: never delete it implicitly
        snapshot, records = self.job_store.journal().load()
        return snapshot is not None or bool(records)

    def _adopt_stored_config(self, meta: dict[str, Any]) -> None:
        """Keep the workflow's identity and job defaults; take run-time options from this command line."""
        stored = meta.get("config", {})
        self.config.workflowID = meta.get("workflow_id") or stored.get("workflowID")
        self.config.workflowAttemptNumber = int(stored.get("workflowAttemptNumber", 0)) + 1
        for key in (
            "retryCount",
            "defaultMemory",
            "defaultCores",
            "defaultDisk",
            "defaultPreemptible",
            "defaultAccelerators",
        ):
            if key in stored:
                setattr(self.config, key, stored[key])
        meta["config"] = {**stored, "workflowAttemptNumber": self.config.workflowAttemptNumber}
        self.job_store.write_meta(meta)

    def close(self, failed: bool) -> None:
        js = self.job_store
        if self._locked:
            js.unlock_leader()
            self._locked = False
        clean = self.config.clean
        success = not failed and self.succeeded
        if self.created_here and not self.started:
            js.destroy()  # nothing was recorded: there is nothing to lose
        elif clean == "always" or (clean == "onSuccess" and success) or (clean == "onError" and failed):
            js.destroy()
        if self.workflow_dir and self.config.cleanWorkDir != "never":
            shutil.rmtree(self.workflow_dir, ignore_errors=True)

    # ------------------------------------------------------------------ running
    def start_graph(self, build: Callable[[], tuple[list[NodeSpec], str]]) -> Any:
        """Start a workflow whose graph ``build()`` makes as (specs, root id); run it; return the root's value.

        The graph is built after the batch system started, so the zygote is
        forked before the (possibly large) graph fills this process.
        """
        if self.config.restart or self.started:
            raise ToilRestartException("this workflow was started before: call restart() to resume it")
        batch = self._start_batch()
        try:
            specs, root_id = build()
            journal = self.job_store.journal()
            journal.load()
            init = {"t": "init", "root": root_id, "nodes": [s.to_json() for s in specs]}
            journal.append([init])
            journal.sync()
            self.started = True
            state = WorkflowState(int(self.config.retryCount))
            state.apply(init)
            return self._run(state, batch)
        finally:
            self._stop_batch(batch)

    def restart(self) -> Any:
        if not self.config.restart:
            raise ToilRestartException("restart() needs the --restart option")
        self._run_orphaned_deferred()
        batch = self._start_batch()  # fork the zygote before the replayed state fills this process
        try:
            state = self._replay()
            if state.finished:
                log.info("The workflow in %s had already finished", self.job_store.locator)
                self.succeeded = True
                return self._root_value(state)
            return self._run(state, batch)
        finally:
            self._stop_batch(batch)

    def _replay(self) -> WorkflowState:
        journal = self.job_store.journal()
        started = time.time()
        with paused_gc():
            snapshot, records = journal.load()
            retries = int(self.config.retryCount)
            state = WorkflowState.from_json(snapshot["state"], retries) if snapshot else WorkflowState(retries)
            if snapshot is None and (not records or records[0].get("t") != "init"):
                raise ToilUserError(
                    f"the job store {self.job_store.locator} holds no started workflow (the run "
                    f"stopped before its first job was recorded): run again without --restart"
                )
            for rec in records:
                state.apply(rec)
            state.recover()
        log.info(
            "Resumed the workflow from %d journal record(s) in %.2f s: %d job(s) done, %d to go",
            len(records),
            time.time() - started,
            state.done_count,
            len(state.nodes),
        )
        return state

    def _run(self, state: WorkflowState, batch: BatchSystem) -> Any:
        from toil.runtime.leader import Leader

        leader = Leader(self.job_store, self.config, state, batch, self.job_store.journal())
        log.info(
            "Running workflow %s in %s on the %s batch system",
            self.config.workflowID,
            self.job_store.locator,
            self.config.batchSystem,
        )
        started = time.time()
        with _stop_on_signals(self.job_store.locator):
            leader.run()
        self.succeeded = True
        log.info(
            "Finished toil run successfully: %d job run(s) in %.1f s", leader.completed_runs, time.time() - started
        )
        self.job_store.journal().write_snapshot(state.to_json())
        return self._root_value(state)

    def _root_value(self, state: WorkflowState) -> Any:
        if self.root_reader is None:
            return None
        return self.root_reader(self.job_store, state.root, state.values_for([state.root] if state.root else []))

    def _start_batch(self) -> BatchSystem:
        from toil.runtime.batch import batch_system_class, new_batch_system
        from toil.runtime.batch.base import BatchContext

        self._wait_for_previous_workers()
        cls = batch_system_class(self.config.batchSystem)
        js, config, wdir = self.job_store, self.config, self.workflow_dir or "/tmp"
        batch = new_batch_system(
            cls, BatchContext(config, js, wdir, js.workers_lock_path(), tuple(js.leader_lease_fds()))
        )
        if batch.auto_deploys:
            try:
                self._deploy_user_code()
            except BaseException:
                batch.shutdown()
                raise
        if config.realTimeLogging:
            from toil.runtime.worker.realtime import RealtimeServer, enable_for_jobs

            self._realtime = RealtimeServer()  # bound before the fork so jobs know its address
            enable_for_jobs(self._realtime.address, config.logLevel)
        batch.start()
        if self._realtime is not None:
            self._realtime.start()
        return batch

    def _deploy_user_code(self) -> None:
        """Ship the user's code into the job store, and record it in the metadata for workers (each start)."""
        from toil.runtime.usercode import record_deployment

        meta = self.job_store.read_meta()
        ship = not self.config.disableAutoDeployment
        meta["deploy"] = record_deployment(self.job_store, self.user_module, meta.get("deploy"), ship).to_json()
        self.job_store.write_meta(meta)

    def _stop_batch(self, batch: BatchSystem) -> None:
        batch.shutdown()
        if self._realtime is not None:
            self._realtime.stop()
            self._realtime = None

    def _wait_for_previous_workers(self) -> None:
        """Job processes of a killed leader may still be dying: wait until none holds the workers lock."""
        js = self.job_store
        if not js.workers_running():
            return
        log.info("Waiting for job processes of the previous leader to exit")
        if not js.wait_for_workers(PREVIOUS_WORKERS_WAIT):
            raise ToilUserError(
                f"job processes of a previous leader still run on {js.locator}; stop them and try again"
            )

    def _run_orphaned_deferred(self) -> None:
        from toil.runtime.worker.deferred import run_orphaned

        directory = os.path.join(self.workflow_dir or "", "deferred")
        if not os.path.isdir(directory):
            return
        for name in os.listdir(directory):
            if name.startswith("deferred-") and name.endswith(".pkl"):
                pid = int(name[len("deferred-") : -len(".pkl")])
                if not pid_alive(pid):
                    run_orphaned(directory, pid)

    # ------------------------------------------------------------------ files
    def import_file(
        self, src_uri: str, shared_file_name: str | None = None, symlink: bool = True, check_existence: bool = True
    ) -> Any:
        from toil.runtime.worker.filestore import FileID

        src_uri = os.fspath(src_uri) if isinstance(src_uri, os.PathLike) else src_uri
        if not isinstance(src_uri, str):
            raise ToilUserError(
                f"import_file needs a path or URL string, got {type(src_uri).__name__} {reprlib.repr(src_uri)}"
            )
        link = bool(symlink and self.config.symlinkImports)
        try:
            result = self.job_store.import_file(src_uri, shared_file_name=shared_file_name, symlink=link)
        except ToilUserError:
            if check_existence:
                raise
            return None
        if result is None:
            return None
        file_id, size, executable = result
        return FileID(file_id, size, executable)

    def export_file(self, file_id: Any, dst_uri: str) -> None:
        from toil.runtime.jobstores import NoSuchFileException

        dst_uri = os.fspath(dst_uri) if isinstance(dst_uri, os.PathLike) else dst_uri
        if not isinstance(dst_uri, str) or not dst_uri:
            raise ToilUserError(f"export_file needs a destination path or URL string, got {reprlib.repr(dst_uri)}")
        if not isinstance(file_id, str):
            raise ToilUserError(
                f"export_file needs a file ID (from import_file or writeGlobalFile), got "
                f"{type(file_id).__name__} {reprlib.repr(file_id)}"
            )
        try:
            self.job_store.export_file(str(file_id), dst_uri)
        except NoSuchFileException as e:
            raise ToilUserError(f"cannot export {reprlib.repr(file_id)}: {e}") from None
        except OSError as e:
            raise ToilUserError(f"cannot export to {dst_uri}: {e.strerror or e}") from None


# What signal.signal takes and returns: a function, SIG_DFL or SIG_IGN (ints), or None (not set from Python).
_SignalHandler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class _stop_on_signals:
    """Turn SIGINT/SIGTERM into WorkflowInterrupted, so jobs are killed and the job store kept."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, locator: str) -> None:
        self.locator = locator
        self.saved: dict[int, _SignalHandler] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            self.saved[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        raise WorkflowInterrupted(
            f"stopped by {signal.Signals(signum).name}: running jobs were killed and the job "
            f"store {self.locator} is kept; rerun with --restart to continue"
        )

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _main_script() -> str | None:
    """The user's script (for 'toil debug-job', which must import it to unpickle its jobs)."""
    import sys

    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.abspath(path) if path and path.endswith(".py") else None
