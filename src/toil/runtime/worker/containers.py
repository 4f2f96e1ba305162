"""Container engines on a node: which one to use, fetching images once, and what a job ran in.

The CWL and WDL front ends run tools in containers through the engines'
command lines (``docker``, ``podman``, ``singularity``/``apptainer``). What
they share lives here:

* ``choose_engine``: the engine a user asked for, or the first that works
  here (``auto``: docker when its daemon answers, then podman, then
  singularity/apptainer; None when there is none).
* ``image_lock``: a lock held across every process on the node while an image
  is fetched, so the jobs that start together with one image pull it once
  (Toil #3817) and the others find it in place.
* ``note_use``/``take_uses``: the engine and image a job ran in, which the
  worker adds to the job's line in ``toil stats``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING, Callable, Iterator

from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.runtime.worker.deferred import DeferredFunctions

log = logging.getLogger("toil.containers")

ENGINES = ("docker", "podman", "singularity")
_LOCK_DIR_ENV = "TOIL_CONTAINER_LOCK_DIR"
_uses: list[str] = []
_working: dict[str, bool] = {}
_job_deferred: "DeferredFunctions | None" = None  # the running job's (set by the worker)
_present: set[tuple[str, str]] = set()  # images this process saw on the node (warm workers skip the check)


class ContainerImageError(ToilUserError):
    """An image a tool names cannot be had: not on this node, and the engine cannot fetch or build it."""


class NoContainerEngine(ToilUserError):
    """A tool must run in a container and this node has no engine that works."""


def executable(engine: str) -> str | None:
    """The command that runs ``engine`` here (singularity may be installed as apptainer)."""
    names = ("singularity", "apptainer") if engine == "singularity" else (engine,)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def engine_works(engine: str) -> bool:
    """Whether ``engine`` is installed and can run containers (docker: its daemon answers)."""
    if engine not in _working:
        exe = executable(engine)
        ok = False
        if exe is not None:
            probe = {
                "docker": [exe, "version", "--format", "{{.Server.Version}}"],
                "podman": [exe, "info", "--format", "{{.Host.OCIRuntime.Name}}"],
                "singularity": [exe, "--version"],
            }[engine]
            try:
                ok = (
                    subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode
                    == 0
                )
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _working[engine] = ok
    return _working[engine]


def choose_engine(preferred: str = "auto", among: tuple[str, ...] | None = None) -> str | None:
    """The engine to use: ``preferred`` if it is one, else the first of ENGINES that works (None: none).

    ``among``: the engines the workers have, where they are not this machine (then nothing is probed here).
    """
    if among is not None:
        if preferred in ENGINES:
            return preferred if preferred in among else None
        return next((engine for engine in ENGINES if engine in among), None)
    if preferred in ENGINES:
        return preferred
    for engine in ENGINES:
        if engine_works(engine):
            return engine
    return None


def lock_dir() -> str:
    """Where the node's image locks live: shared by every job on this node, whatever its workflow."""
    return os.environ.get(_LOCK_DIR_ENV) or os.path.join(tempfile.gettempdir(), "toil-container-images")


@contextlib.contextmanager
def image_lock(engine: str, image: str) -> Iterator[None]:
    """Hold the node-wide lock for fetching ``image`` with ``engine``: one process fetches, others wait."""
    directory = lock_dir()
    os.makedirs(directory, mode=0o1777, exist_ok=True)
    name = hashlib.sha256(f"{engine}\0{image}".encode()).hexdigest()[:32] + ".lock"
    fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def image_present(engine: str, image: str) -> bool:
    """Whether a docker or podman node already holds ``image``."""
    if (engine, image) in _present:
        return True
    exe = executable(engine) or engine
    command = [exe, "image", "exists", image] if engine == "podman" else [exe, "image", "inspect", image]
    try:
        found = (
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if found:
        _present.add((engine, image))
    return found


def ensure_image(
    engine: str, image: str, present: Callable[[], bool] | None = None, fetch: Callable[[], None] | None = None
) -> None:
    """Fetch ``image`` unless the node has it, under the node's lock (one fetch per node)."""
    if (engine, image) in _present:
        return
    with image_lock(engine, image):
        pull_if_missing(engine, image, present, fetch)


def pull_if_missing(
    engine: str, image: str, present: Callable[[], bool] | None = None, fetch: Callable[[], None] | None = None
) -> None:
    """Fetch ``image`` unless the node has it (hold ``image_lock`` around this). ``present`` and ``fetch``
    default to the engine's command line (callers of the Docker API pass their own); a failure names the
    image."""
    if (present or (lambda: image_present(engine, image)))():
        _present.add((engine, image))
        return
    log.info("Pulling container image %s with %s", image, engine)
    (fetch or (lambda: _pull_with_cli(engine, image)))()
    _present.add((engine, image))


def _pull_with_cli(engine: str, image: str) -> None:
    proc = subprocess.run(
        [executable(engine) or engine, "pull", image],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    if proc.returncode != 0:
        raise ContainerImageError(
            f"cannot get the container image {image!r} with {engine}: "
            f"{last_line(proc.stderr) or f'exit code {proc.returncode}'}"
        )


def remove_container(engine: str, cidfile: str | None) -> None:
    """Remove the container whose id ``cidfile`` holds (the engine's own ``--rm`` is not used: through
    Podman's Docker API, ``docker run --rm`` reports exit code 0 whatever the command returned)."""
    if not cidfile or not os.path.exists(cidfile):
        return
    with open(cidfile) as f:
        cid = f.readline().strip()
    if cid:
        subprocess.run(
            [executable(engine) or engine, "rm", "-f", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )


def set_job_deferred(deferred: "DeferredFunctions | None") -> None:
    """The worker names the running job's deferred functions (None between jobs)."""
    global _job_deferred
    _job_deferred = deferred


def remove_when_job_ends(engine: str, cidfile: str) -> None:
    """Remove the container when the job ends, even if its process is killed (the worker's deferred
    functions run then; an engine's `run` client killed leaves its container running)."""
    if _job_deferred is not None:
        _job_deferred.add(remove_container, engine, cidfile)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def note_use(engine: str, image: str) -> None:
    """Record that the current job ran a command in ``image`` with ``engine`` (for ``toil stats``)."""
    entry = f"{engine} {image}"
    if entry not in _uses:
        _uses.append(entry)


def take_uses() -> list[str]:
    """The containers the job that just ran used, forgetting them (the worker calls this once per job)."""
    uses = list(_uses)
    _uses.clear()
    return uses
