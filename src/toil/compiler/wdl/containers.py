"""WDL tasks in containers: miniwdl's command-line container backends, made node-aware.

miniwdl runs a task's command in a container through ``SubprocessBase``
(mounts of the inputs, read-only; the working directory, writable; stdout and
stderr files; cpu and memory as limits). ``EngineContainer`` is that backend
for the docker and podman command lines; ``NodeSingularity`` is miniwdl's
Singularity backend. Both fetch images once per node (``toil.runtime.worker.containers``),
take the first of a task's candidate images (``container: [a, b]``) that this
node has or can fetch, and note the engine for ``toil stats``.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import WDL
from WDL import Value
from WDL.runtime import config as wdl_config
from WDL.runtime.backend.cli_subprocess import SubprocessBase
from WDL.runtime.backend.singularity import SingularityContainer

from toil.runtime.worker import containers

if TYPE_CHECKING:
    from toil.runtime.batch.base import ContainerSupport

log = logging.getLogger("toil.wdl")


def resolve_engine(choice: str, names_images: bool, workers: ContainerSupport | None = None) -> str | None:
    """The engine tasks naming an image run in (None: without one), settled once at the leader; ``workers``:
    the batch system's engines, where its workers are not this machine."""
    if choice == "none" or not names_images:
        return None
    if choice != "auto":
        works = containers.engine_works(choice) if workers is None else choice in workers.engines
        if not works:
            where = "here" if workers is None else f"on this batch system's workers ({workers.hint or 'not there'})"
            raise containers.NoContainerEngine(
                f"--container {choice}: {choice} is not installed or cannot run containers {where}"
            )
        return choice
    return containers.choose_engine("auto", None if workers is None else workers.engines)


class _NodeAware:
    """Image choice and fetching shared by the backends below."""

    engine = "podman"
    runtime_values: dict[str, Any]
    cfg: wdl_config.Loader

    def process_runtime(self, logger: logging.Logger, runtime_eval: dict[str, Value.Base]) -> None:
        super().process_runtime(logger, runtime_eval)  # type: ignore[misc]
        value = runtime_eval.get("container", runtime_eval.get("docker"))
        if isinstance(value, Value.Array) and len(value.value) > 1:
            self.runtime_values["docker"] = self._first_available(
                [v.coerce(WDL.Type.String()).value for v in value.value]
            )

    def _first_available(self, candidates: list[str]) -> str:
        """The first candidate this node has; else the first it can fetch (the last error if none)."""
        usable = [c.removeprefix("docker://") for c in candidates if "://" not in c or c.startswith("docker://")]
        for image in usable:
            if self.engine != "singularity" and containers.image_present(self.engine, image):
                return image
        error: Exception | None = None
        for image in usable:
            try:
                containers.ensure_image(self.engine, image)
                return image
            except containers.ContainerImageError as e:
                error = e
        if error is not None:
            raise error
        raise containers.ContainerImageError(
            f"none of the task's container images can be used here: {', '.join(candidates)}"
        )

    def image(self) -> str:
        return str(self.runtime_values.get("docker") or self.cfg.get_dict("task_runtime", "defaults")["docker"])


class EngineContainer(_NodeAware, SubprocessBase):
    """A task container run with the docker or podman command line."""

    @classmethod
    def global_init(cls, cfg: wdl_config.Loader, logger: logging.Logger) -> None:
        pass

    @property
    def cli_name(self) -> str:
        return self.engine

    @property
    def cli_exe(self) -> list[str]:
        return [containers.executable(self.engine) or self.engine]

    def _pull(self, logger: logging.Logger, cleanup: ExitStack) -> str:
        image = self.image()
        containers.ensure_image(self.engine, image)
        containers.note_use(self.engine, image)
        return image

    def _run_invocation(self, logger: logging.Logger, cleanup: ExitStack, image: str) -> list[str]:
        cidfile = os.path.join(self.host_dir, f"container-{self.try_counter}.cid")
        if os.path.exists(cidfile):
            os.remove(cidfile)
        # not --rm: through Podman's Docker API, `docker run --rm` reports exit code 0 whatever happened
        args = self.cli_exe + ["run", "--cidfile", cidfile, "--workdir", os.path.join(self.container_dir, "work")]
        containers.remove_when_job_ends(self.engine, cidfile)
        cpu = self.runtime_values.get("cpu", 0)
        if cpu > 0:
            args += ["--cpus", str(cpu)]
        # the task's memory as a hard limit (miniwdl only reserves it unless told a multiplier)
        memory_limit = self.runtime_values.get("memory_limit", 0) or self.runtime_values.get("memory_reservation", 0)
        if memory_limit > 0:
            args += ["--memory", str(memory_limit)]
        if self.engine == "docker" and os.geteuid() != 0:
            args += ["--user", f"{os.geteuid()}:{os.getegid()}"]  # outputs owned by the user
        if self.runtime_values.get("privileged", False) is True:
            args.append("--privileged")
        for container_path, host_path, writable in self.prepare_mounts():
            if ":" in container_path + host_path:
                raise WDL.Error.InputError(f"{self.engine} cannot mount a path holding ':': {host_path}")
            args += ["-v", f"{host_path}:{container_path}" + ("" if writable else ":ro")]
        logger.info("%s run of %s", self.engine, image)
        return args + [image]


class DockerContainer(EngineContainer):
    engine = "docker"


class PodmanContainer(EngineContainer):
    engine = "podman"


class NodeSingularity(_NodeAware, SingularityContainer):
    """miniwdl's Singularity/Apptainer backend, fetching each image once per node."""

    engine = "singularity"

    def _pull(self, logger: logging.Logger, cleanup: ExitStack) -> str:
        with containers.image_lock(self.engine, self.image()):
            found = str(super()._pull(logger, cleanup))
        containers.note_use(self.engine, self.image())
        return found


BACKENDS: dict[str, type[SubprocessBase]] = {
    "docker": DockerContainer,
    "podman": PodmanContainer,
    "singularity": NodeSingularity,
}


def names_image(task: WDL.Tree.Task) -> bool:
    return "container" in task.runtime or "docker" in task.runtime
