"""Running one WDL task on this host, with miniwdl's task machinery.

miniwdl evaluates the task's declarations, runtime section, command and
outputs (``WDL.runtime.task``); it expects a container backend to run the
command. ``HostContainer`` is that backend for running on the host: paths
inside the "container" are the host paths themselves, and the command runs
in the task's working directory with bash. Tasks that name an image run in
a container instead (toil.compiler.wdl.containers) when the run has an engine.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any, Callable, Iterable

import WDL
from WDL import Value
from WDL._util import WDLVersion, wdl_version_geq
from WDL.runtime import config as wdl_config
from WDL.runtime._stdlib import TaskInputStdLib
from WDL.runtime.cache import CallCacheAddPaths
from WDL.runtime.error import CommandFailed, OutputError
from WDL.runtime.task import _eval_task_command, _eval_task_inputs, _eval_task_outputs, _eval_task_runtime
from WDL.runtime.task_container import TaskContainer

from toil.compiler.wdl import values as wv
from toil.compiler.wdl.containers import BACKENDS, names_image
from toil.compiler.wdl.document import WDLUserError, describe
from toil.compiler.wdl.evaluate import coerce_inputs
from toil.compiler.wdl.files import Store, group_key, localize, store_local
from toil.runtime.jobstores.file.fsutil import make_private
from toil.runtime.worker.containers import ContainerImageError

log = logging.getLogger("toil.wdl")
_config: wdl_config.Loader | None = None
STDERR_TAIL = 30


def miniwdl_config() -> wdl_config.Loader:
    """miniwdl's configuration (its defaults), loaded once per process."""
    global _config
    if _config is None:
        _config = wdl_config.Loader(logging.getLogger("toil.wdl.miniwdl"), filenames=[])
    return _config


# miniwdl leaves TaskContainer's host_work_dir, host_stdout_txt and host_stderr_txt unannotated (they return
# str paths): these typed accessors are the only places that call them.
def _work_dir(container: TaskContainer) -> str:
    path: str = container.host_work_dir()  # type: ignore[no-untyped-call]
    return path


def _stdout_path(container: TaskContainer) -> str:
    path: str = container.host_stdout_txt()  # type: ignore[no-untyped-call]
    return path


def _stderr_path(container: TaskContainer) -> str:
    path: str = container.host_stderr_txt()  # type: ignore[no-untyped-call]
    return path


class HostContainer(TaskContainer):
    """A miniwdl task 'container' that is the host: input paths map to themselves."""

    @classmethod
    def global_init(cls, cfg: wdl_config.Loader, logger: logging.Logger) -> None:
        pass

    @classmethod
    def detect_resource_limits(cls, cfg: wdl_config.Loader, logger: logging.Logger) -> dict[str, int]:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return {"cpu": os.cpu_count() or 1, "mem_bytes": int(pages)}

    def __init__(self, cfg: wdl_config.Loader, run_id: str, host_dir: str) -> None:
        super().__init__(cfg, run_id, host_dir)
        self.container_dir = host_dir

    def add_paths(self, host_paths: Iterable[str]) -> None:
        for path in host_paths:
            if not os.path.exists(path.rstrip("/")):
                raise WDL.Error.InputError("input path not found: " + path)
            self.input_path_map[path] = path
            self.input_path_map_rev[path] = path

    def copy_input_files(self, logger: logging.Logger) -> None:
        pass

    def host_path(self, container_path: str, inputs_only: bool = False) -> str | None:
        """As miniwdl's, but an output may be a link to an input (in a container it would be inside)."""
        try:
            return super().host_path(container_path, inputs_only)
        except OutputError:
            path = os.path.join(_work_dir(self), container_path)
            if os.path.islink(path) and os.path.abspath(path).startswith(_work_dir(self) + "/"):
                real = os.path.realpath(path)
                for given in self.input_path_map:
                    root = os.path.realpath(given.rstrip("/"))
                    if real == root or real.startswith(root + "/"):
                        return path
            raise

    def _run(self, logger: logging.Logger, terminating: Callable[[], bool], command: str) -> int:
        script = os.path.join(self.host_dir, "command")
        with open(script, "w") as f:
            f.write(command)
        env = dict(os.environ)
        env.update({k: str(v) for k, v in (self.runtime_values.get("env") or {}).items()})
        with open(_stdout_path(self), "wb") as out, open(_stderr_path(self), "wb") as err:
            proc = subprocess.run(
                ["bash", script], cwd=_work_dir(self), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env
            )
        return proc.returncode


class TaskFailed(Exception):
    """The task's command failed: retried per the task's maxRetries or --retryCount."""


def run_task(
    task: WDL.Tree.Task,
    inputs: dict[str, Any],
    store: Store,
    workdir: str,
    node_id: str,
    call: str,
    engine: str | None = None,
) -> dict[str, Any]:
    """Run the task on stored inputs (in a container of ``engine`` if it names an image); return its outputs
    with their files stored."""
    cfg = miniwdl_config()
    logger = logging.getLogger(f"toil.wdl.task.{task.name}")
    local = wv.decode_env(localize(inputs, store, os.path.join(workdir, "inputs")))
    posix_inputs = coerce_inputs(task, local)
    backend = BACKENDS[engine] if engine and names_image(task) else HostContainer
    container = backend(cfg, call, os.path.join(workdir, "task"))
    add_paths = CallCacheAddPaths()
    v1_2 = wdl_version_geq(task.effective_wdl_version, WDLVersion.V1_2)
    try:
        env = _eval_task_inputs(logger, task, posix_inputs, container, add_paths)
        stdlib = TaskInputStdLib(
            task.effective_wdl_version, logger, container, source_dir=task.source_dir, cache_add_paths=add_paths
        )
        _eval_task_runtime(cfg, logger, call, task, posix_inputs, container, env, stdlib)
        if v1_2:  # the `task` variable of WDL 1.2 (as miniwdl's run_local_task binds it)
            container.build_task_runtime_info_struct(logger, call, task)
            assert container.task_runtime_info_struct is not None
            env = env.bind("task", container.task_runtime_info_struct)
        command = _eval_task_command(cfg, task, logger, container, env, attempt=0, cache_add_paths=add_paths)
    except (WDL.Error.EvalError, WDL.Error.RuntimeError, WDL.Error.InputError) as e:
        raise WDLUserError(f"task {call}: {describe(e)}") from None
    except ContainerImageError as e:
        raise ContainerImageError(f"task {call}: {e}") from None
    try:
        container.run(logger, command)
    except ContainerImageError as e:
        raise ContainerImageError(f"task {call}: {e}") from None
    except CommandFailed as e:
        make_private(container.host_dir)
        report_failure(call, command, e.exit_status, _stderr_path(container))
        raise TaskFailed(f"task {call} failed with exit code {e.exit_status}") from None
    make_private(container.host_dir)  # what the command left with modes of its own (cp -p, tar x)
    try:
        if v1_2:
            container.update_task_runtime_info_struct(
                task, output_section=True, attempt=Value.Int(0), return_code=Value.Int(container.last_exit_code or 0)
            )
            assert container.task_runtime_info_struct is not None
            env = env.bind("task", container.task_runtime_info_struct)
        outputs = _eval_task_outputs(logger, call, task, env, container)
    except (WDL.Error.EvalError, WDL.Error.RuntimeError, WDL.Error.InputError) as e:
        raise WDLUserError(f"task {call}: {describe(e)}") from None
    data = wv.encode_env(outputs)
    stored: dict[str, Any] = store_local(data, store, lambda d: group_key(node_id, d))  # an object in, an object out
    return stored


def report_failure(call: str, command: str, exit_code: int, stderr_path: str) -> None:
    """What a user needs to see about a failed command: the command, its exit code, its stderr's end."""
    try:
        with open(stderr_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace").splitlines()[-STDERR_TAIL:]
    except OSError:
        tail = []
    sys.stderr.write(f"WDL task {call} failed with exit code {exit_code}.\nCommand:\n")
    sys.stderr.write("\n".join("    " + line for line in command.strip("\n").splitlines()) + "\n")
    sys.stderr.write(f"Standard error (last {len(tail)} lines):\n")
    sys.stderr.write("\n".join("    " + line for line in tail) + "\n")
    sys.stderr.flush()
