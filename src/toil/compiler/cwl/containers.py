"""CWL tools in containers: the engine a run uses, and cwltool's container jobs made node-aware.

cwltool builds each tool's job (command line, mounts, ``--user``, limits) in
its Docker, Podman and Singularity job classes. The subclasses here run those
jobs with three changes:

* images are fetched under the node-wide lock of ``toil.runtime.worker.containers``,
  so parallel jobs naming one image pull it once, and a failed pull is one
  line naming the image;
* the container is removed (from its id file) when the job ends, even if the
  job's process is killed, instead of with ``--rm`` (through Podman's Docker
  API, ``docker run --rm`` reports exit code 0 whatever the tool returned);
  Podman run as root gets no ``--userns=keep-id`` (rootless only);
* the engine and image are noted for the job's line in ``toil stats``;
* cwltool's monitor of the container (a one-second sleep, then `docker stats`
  for a log line of peak memory) is left out: it made every job last a
  second at least.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, MutableMapping, TypeVar

from cwl_utils.types import CWLObjectType
from cwltool.context import RuntimeContext
from cwltool.docker import DockerCommandLineJob, PodmanCommandLineJob
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.singularity import SingularityCommandLineJob

from toil.runtime.worker import containers

if TYPE_CHECKING:
    import subprocess

    from cwltool.process import Process

    from toil.runtime.batch.base import ContainerSupport

log = logging.getLogger("toil.cwl")

DOCKER_REQUIREMENT = "DockerRequirement"


class _NodeAwareJob:
    """What the engine subclasses below add to cwltool's container jobs (see the module's doc)."""

    engine = "docker"

    def get_from_requirements(
        self,
        r: CWLObjectType,
        pull_image: bool,
        force_pull: bool,
        tmp_outdir_prefix: str,
        image_base_path: str | None = None,
    ) -> str | None:
        image = str(
            r.get("dockerImageId")
            or r.get("dockerPull")
            or r.get("dockerLoad")
            or r.get("dockerImport")
            or "the tool's image"
        )
        with containers.image_lock(self.engine, image):
            if (
                self.engine != "singularity"
                and pull_image
                and not force_pull
                and "dockerPull" in r
                and not any(k in r for k in ("dockerFile", "dockerLoad", "dockerImport"))
            ):
                containers.pull_if_missing(self.engine, str(r["dockerPull"]))  # says why, when it cannot
            try:
                found = super().get_from_requirements(  # type: ignore[misc]
                    r, pull_image, force_pull, tmp_outdir_prefix, image_base_path
                )
            except containers.ContainerImageError:
                raise
            except Exception as e:
                raise containers.ContainerImageError(
                    f"cannot get the container image {image!r} with {self.engine}: "
                    f"{containers.last_line(str(e)) or type(e).__name__}"
                ) from None
        if found is None:
            raise containers.ContainerImageError(f"cannot get the container image {image!r} with {self.engine}")
        containers.note_use(self.engine, str(found))
        return str(found)

    def docker_monitor(
        self, cidfile: str, tmpdir_prefix: str, cleanup_cidfile: bool, docker_exe: str, process: subprocess.Popen[str]
    ) -> None:
        """Nothing: cwltool's monitor sleeps a second before its first look and then streams `docker stats`
        to log the container's peak memory, so every container job took a second at least."""

    def create_runtime(
        self, env: MutableMapping[str, str], runtime_context: RuntimeContext
    ) -> tuple[list[str], str | None]:
        runtime, cidfile = super().create_runtime(env, runtime_context)  # type: ignore[misc]
        drop = {"--rm"}
        if self.engine == "podman" and os.geteuid() == 0:
            drop.add("--userns=keep-id")
        if cidfile and runtime_context.rm_container:
            containers.remove_when_job_ends(self.engine, cidfile)
        return [arg for arg in runtime if arg not in drop], cidfile


class NodeDockerJob(_NodeAwareJob, DockerCommandLineJob):
    engine = "docker"


class NodePodmanJob(_NodeAwareJob, PodmanCommandLineJob):
    engine = "podman"


class NodeSingularityJob(_NodeAwareJob, SingularityCommandLineJob):
    engine = "singularity"


_NODE_AWARE: dict[type, type] = {  # cwltool's container job class -> its node-aware subclass
    DockerCommandLineJob: NodeDockerJob,
    PodmanCommandLineJob: NodePodmanJob,
    SingularityCommandLineJob: NodeSingularityJob,
}


_Job = TypeVar("_Job")


def node_aware(cwl_job: _Job) -> _Job:
    """The job cwltool built, run by the node-aware class of its engine (same state, one more behaviour)."""
    cls = _NODE_AWARE.get(type(cwl_job))
    if cls is not None:
        cwl_job.__class__ = cls
    return cwl_job


def choose_engine(
    runtime_context: RuntimeContext, tools: list[Process], workers: ContainerSupport | None = None
) -> str | None:
    """Settle the engine of a run before it starts (workers inherit the settings).

    cwltool's flags choose (``--podman``, ``--singularity``, ``--user-space-docker-cmd``,
    ``--no-container``); otherwise the first engine that works on the workers: the batch system's
    (``workers``) where its workers are not this machine, else this machine's: docker, podman, singularity.
    With none, tools that only hint at a container run without one (one warning) and tools that require
    one are refused before anything runs.
    """
    if not runtime_context.use_container:
        return None
    if runtime_context.user_space_docker_cmd:
        return str(runtime_context.user_space_docker_cmd)
    if not (runtime_context.default_container or any(_names_container(t) for t in tools)):
        return None  # nothing runs in a container: no need to look
    named = "singularity" if runtime_context.singularity else "podman" if runtime_context.podman else None
    where = "here" if workers is None else "on this batch system's workers"
    if named is not None:
        works = containers.engine_works(named) if workers is None else named in workers.engines
        if not works:
            hint = f" ({workers.hint})" if workers is not None and workers.hint else ""
            raise containers.NoContainerEngine(
                f"--{named}: {named} is not installed or cannot run containers {where}{hint}"
            )
        return named
    engine = containers.choose_engine("auto", None if workers is None else workers.engines)
    runtime_context.podman = engine == "podman"
    runtime_context.singularity = engine == "singularity"
    if engine is None:
        hint = f"; {workers.hint}" if workers is not None and workers.hint else ""
        required = [t for t in tools if _names_container(t, required_only=True)]
        if required:
            raise UnsupportedRequirement(
                f"{_tool_name(required[0])} requires a container (DockerRequirement) and no container engine "
                f"works {where} (tried docker, podman, singularity/apptainer)"
                + (hint or "; install one, or name one with --podman or --singularity")
            )
        log.warning(
            "No container engine works %s (tried docker, podman, singularity/apptainer)%s: tools that "
            "ask for a container image run without one",
            where,
            hint,
        )
        runtime_context.use_container = False
    return engine


def _names_container(tool: Process, required_only: bool = False) -> bool:
    reqs = list(getattr(tool, "requirements", []))
    if not required_only:
        reqs += list(getattr(tool, "hints", []))
    return any(isinstance(r, dict) and r.get("class") == DOCKER_REQUIREMENT for r in reqs)


def _tool_name(tool: Process) -> str:
    return str(tool.tool.get("id", "a tool")).rsplit("/", 1)[-1]


def check_engine_error(e: WorkflowException) -> None:
    """Re-raise an image error cwltool wrapped ("Docker is required to run this tool: ..."), so the user sees
    the image and the reason in one line."""
    if isinstance(e.__cause__, containers.ContainerImageError):
        raise e.__cause__ from None
