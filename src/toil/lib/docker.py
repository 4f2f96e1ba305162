"""Toil's ``toil.lib.docker``: run a container from a Python job with the Docker API (docker-py).

    from toil.lib.docker import apiDockerCall
    out = apiDockerCall(job, "ubuntu:22.04", ["cat", "input.txt"])    # in run(); returns its stdout

As in Toil: ``working_dir`` (default the current directory) is mounted at
``/data``; the container runs as the user (uid:gid) unless ``user`` says
otherwise; a list of argument lists is run as a pipeline (``bash -c 'set -eo
pipefail && a | b'``); a non-zero exit raises ``docker.errors.ContainerError``;
the container is removed (``deferParam`` RM, the default), stopped (STOP) or
left (FORGO) when the job ends, even if its process is killed. Here the image is also fetched once per node (the
node-wide lock of ``toil.runtime.worker.containers``) and noted for ``toil stats``.
The API is whatever ``DOCKER_HOST`` names (Docker, or Podman's Docker API).
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import time
import uuid
from typing import Any, NoReturn

from toil.runtime.worker import containers

log = logging.getLogger(__name__)

FORGO = 0  # leave the container when the job ends
STOP = 1  # stop it
RM = 2  # stop and remove it (the default)


def dockerCheckOutput(*args: Any, **kwargs: Any) -> NoReturn:
    """Removed in Toil (it ran ``docker`` through subprocess): raises, pointing at apiDockerCall."""
    raise RuntimeError(
        "dockerCheckOutput() using subprocess.check_output() has been removed, please switch to apiDockerCall()."
    )


def dockerCall(*args: Any, **kwargs: Any) -> NoReturn:
    """Removed in Toil: raises, pointing at apiDockerCall."""
    raise RuntimeError(
        "dockerCall() using subprocess.check_output() has been removed, please switch to apiDockerCall()."
    )


def subprocessDockerCall(*args: Any, **kwargs: Any) -> NoReturn:
    """Removed in Toil: raises, pointing at apiDockerCall."""
    raise RuntimeError("subprocessDockerCall() has been removed, please switch to apiDockerCall().")


def getContainerName(job: Any) -> str:
    """'toil--JOB--RANDOM' with only the characters Docker allows in a name ([a-zA-Z0-9_.-])."""
    name = "--".join(["toil", str(getattr(job, "description", job)), uuid.uuid4().hex[:12]])
    return re.sub("[^a-zA-Z0-9_.-]", "", name)


def _client(timeout: int = 365 * 24 * 60 * 60) -> Any:
    try:
        import docker
    except ImportError:
        raise containers.NoContainerEngine("apiDockerCall needs docker-py: pip install docker") from None
    return docker.from_env(version="auto", timeout=timeout)


def _ensure_image(client: Any, image: str) -> None:
    """The node's one fetch of ``image`` (toil.runtime.worker.containers), through the Docker API."""
    import docker

    def present() -> bool:
        try:
            client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            return False

    def fetch() -> None:
        try:
            client.images.pull(image)
        except docker.errors.APIError as e:
            raise containers.ContainerImageError(
                f"cannot get the container image {image!r} with docker: {containers.last_line(str(e))}"
            ) from None

    containers.ensure_image("docker", image, present, fetch)


def _command(parameters: Any, entrypoint: Any) -> tuple[Any, Any]:
    """Toil's rule: a list of lists is a pipeline run by bash; a flat list is one quoted command line; none
    runs the image's own command."""
    if not parameters:
        return None, None
    if isinstance(parameters[0], list):
        pipeline = " | ".join(" ".join(shlex.quote(str(a)) for a in chunk) for chunk in parameters)
        return [f"set -eo pipefail && {pipeline}"], entrypoint or ["/bin/bash", "-c"]
    return " ".join(shlex.quote(str(a)) for a in parameters), entrypoint


def apiDockerCall(
    job: Any,
    image: str,
    parameters: Any = None,
    deferParam: int | None = None,
    volumes: dict[str, Any] | None = None,
    working_dir: str | None = None,
    containerName: str | None = None,
    entrypoint: Any = None,
    detach: bool = False,
    log_config: Any = None,
    auto_remove: bool | None = None,
    remove: bool = False,
    user: str | None = None,
    environment: dict[str, str] | None = None,
    stdout: bool | None = None,
    stderr: bool = False,
    stream: bool = False,
    demux: bool = False,
    streamfile: str | None = None,
    accelerators: Any = None,
    timeout: int = 365 * 24 * 60 * 60,
    **kwargs: Any,
) -> Any:
    """Run ``image`` with ``parameters`` through the Docker API (Toil's signature and defaults).

    Returns the output (bytes, as docker-py gives it) when ``detach`` is False, or the container when it
    is True (after copying its output to ``streamfile``, default output.log, if ``stdout``/``stderr``).
    """
    if deferParam not in (None, FORGO, STOP, RM):
        raise ValueError(f"deferParam must be FORGO, STOP or RM (0, 1, 2), not {deferParam!r}")
    if accelerators:
        raise containers.NoContainerEngine("apiDockerCall: accelerators are not supported here")
    client = _client(timeout)
    user = user if user is not None else f"{os.getuid()}:{os.getgid()}"  # outputs owned by the user
    working_dir = os.path.abspath(working_dir or os.getcwd())
    volumes = volumes if volumes is not None else {working_dir: {"bind": "/data", "mode": "rw"}}
    for host_dir in volumes:
        os.makedirs(host_dir, exist_ok=True)
    command, entrypoint = _command(parameters, entrypoint)
    name = containerName or f"toil-{uuid.uuid4().hex}"
    _ensure_image(client, image)
    containers.note_use("docker", image)
    action = RM if deferParam is None else deferParam
    if job is not None and hasattr(job, "defer"):  # stopped or removed even if the job's process dies
        if action == STOP:
            job.defer(dockerStop, name)
        elif action == RM or remove:
            job.defer(dockerKill, name, remove=True)
    common = dict(
        image=image,
        command=command,
        working_dir=working_dir,
        entrypoint=entrypoint,
        name=name,
        volumes=volumes,
        auto_remove=remove if auto_remove is None else auto_remove,
        remove=remove,
        log_config=log_config,
        user=user,
        environment=environment,
        **kwargs,
    )
    if not detach and (stream or demux):
        return client.containers.run(
            detach=False, stdout=True if stdout is None else stdout, stderr=stderr, stream=True, **common
        )
    if not detach:
        return _run_to_end(client, common, True if stdout is None else stdout, stderr)
    container = client.containers.run(detach=True, **common)
    if stdout or stderr:
        with open(streamfile or "output.log", "wb") as f:
            for chunk in container.logs(stdout=bool(stdout), stderr=stderr, stream=True):
                f.write(chunk.encode() if isinstance(chunk, str) else chunk)
    return container


def _run_to_end(client: Any, settings: dict[str, Any], stdout: bool, stderr: bool) -> bytes:
    """Run a container to its end and return its output, as docker-py's ``containers.run`` does, but by
    polling its state: Podman 4.3's Docker API can leave a ``wait`` on a container that already ended
    unanswered."""
    import docker

    settings = dict(settings)
    remove = settings.pop("remove", False) | bool(settings.pop("auto_remove", False))  # removed here, after
    # its exit code is read
    container = client.containers.create(**settings)
    try:
        container.start()
        delay = 0.02
        while True:
            container.reload()
            if container.status in ("exited", "dead", "stopped"):
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        code = int(container.attrs.get("State", {}).get("ExitCode", 1))
        out = container.logs(stdout=stdout, stderr=stderr)
        if code != 0:
            raise docker.errors.ContainerError(
                container, code, settings.get("command"), settings["image"], container.logs(stdout=False, stderr=True)
            )
        return bytes(out)
    finally:
        if remove:
            container.remove(force=True)


def dockerKill(
    container_name: str, gentleKill: bool = False, remove: bool = False, timeout: int = 365 * 24 * 60 * 60
) -> None:
    """Stop (gently: SIGTERM, else SIGKILL) and optionally remove a container; a missing one is fine."""
    import docker

    try:
        container = _client().containers.get(container_name)
    except (docker.errors.NotFound, docker.errors.APIError):
        return
    try:
        if container.status == "running":
            if gentleKill:
                container.stop(timeout=min(timeout, 10))
            else:
                container.kill()
        if remove:
            container.remove(force=True)
    except docker.errors.APIError as e:
        log.warning("Could not stop container %s: %s", container_name, containers.last_line(str(e)))


def dockerStop(container_name: str, remove: bool = False) -> None:
    """Stop a container gently (SIGTERM first)."""
    dockerKill(container_name, gentleKill=True, remove=remove)


def containerIsRunning(container_name: str, timeout: int = 365 * 24 * 60 * 60) -> bool | None:
    """True if running, False if stopped, None if there is no such container."""
    import docker

    try:
        return bool(_client().containers.get(container_name).status == "running")
    except docker.errors.NotFound:
        return None
