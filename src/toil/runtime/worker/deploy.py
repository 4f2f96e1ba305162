"""Auto-deployment, the shipping and the worker's side: the user's code as one zip in the job store, imported there.

The leader (runtime/usercode.py) picks the files; ``ship`` zips them into one job store file, whose ID and hash
the job store's metadata records as ``deploy`` (a ``Deployment``). A worker (``adopt``) extracts the zip once per
node into a cache directory named by the hash, puts it first on ``sys.path`` and imports the user's main module
by its real name, as ``__main__`` too, so pickles of jobs resolve. Only the JobStore interface is used, so this
works where workers share no file system with the leader.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import IO, Any

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.base import JobStore

log = logging.getLogger("toil.deploy")

CHUNK = 1 << 20


@dataclass(frozen=True)
class Deployment:
    """What the leader recorded for workers: the main module, the shipped zip and the leader's PYTHONPATH."""

    module: str | None = None  # the user's main module, by the name it is imported with (None: none to import)
    root: str | None = None  # the leader's directory holding it (what workers without the zip put on sys.path)
    file_id: str | None = None  # the zip of the tree in the job store; None: not shipped
    digest: str | None = None  # the zip's SHA-256
    pythonpath: str | None = None  # passed on to workers, as Toil does

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Any) -> Deployment:
        if not isinstance(data, dict):
            return cls()
        return cls(**{k: str(data[k]) for k in ("module", "root", "file_id", "digest", "pythonpath") if k in data})


def write_zip(files: list[tuple[str, str]], out: IO[bytes]) -> None:
    """Zip ``files`` into ``out`` with no time stamps, so the same tree always gives the same bytes (and hash)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in files:
            try:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | (os.stat(path).st_mode & 0o777)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as src, z.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            except OSError as e:
                raise ToilUserError(f"cannot read {path} to ship it to the workers: {e.strerror or e}") from None


def ship(job_store: JobStore, files: list[tuple[str, str]], previous: Deployment) -> tuple[str, str]:
    """Zip ``files`` into the job store: the zip's file ID and hash (the previous run's zip, if unchanged)."""
    with tempfile.TemporaryFile() as buf:
        write_zip(files, buf)
        buf.seek(0)
        digest = _sha256(buf)
        if previous.digest == digest and previous.file_id and job_store.file_exists(previous.file_id):
            return previous.file_id, digest  # a restart with the same code
        buf.seek(0)
        with job_store.write_file_stream(basename="user-code.zip") as (dst, file_id):
            shutil.copyfileobj(buf, dst, CHUNK)
        log.debug("Shipped %d files (%d bytes) to the workers as %s", len(files), buf.tell(), file_id)
    return file_id, digest


def _sha256(f: IO[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()


def adopt(job_store: JobStore, deployment: Deployment, cache: str, prefer_local: bool = False) -> None:
    """Pass on the leader's PYTHONPATH, make the user's code importable and import its main module as ``__main__``.

    The shipped copy is used even where the leader's directory is visible, so every node runs the same code;
    ``prefer_local`` (``toil debug-job``, on the leader's machine) takes the leader's directory if it is there.
    """
    if deployment.pythonpath is not None:
        os.environ["PYTHONPATH"] = deployment.pythonpath  # for the job's own Python commands too
        sys.path += [p for p in deployment.pythonpath.split(os.pathsep) if p and p not in sys.path]
    local = deployment.root if deployment.root and os.path.isdir(deployment.root) else None
    if deployment.file_id and deployment.digest and not (prefer_local and local):
        directory: str | None = install(job_store, deployment.file_id, deployment.digest, cache)
    else:
        directory = local  # not shipped (--disableAutoDeployment): the leader's directory, if shared; else installed
    if directory is not None:
        _put_first(directory)
    if deployment.module:
        import_main(deployment.module, directory)


def install(job_store: JobStore, file_id: str, digest: str, cache: str) -> str:
    """The directory the shipped zip is extracted in, once per node: under ``cache``, named by its hash.

    Several workers may start at once: one extracts while the others wait on a lock, and the extraction is
    renamed into place whole, so a directory of that name is always complete.
    """
    target = os.path.join(cache, digest)
    if os.path.isdir(target):
        return target
    os.makedirs(cache, mode=0o700, exist_ok=True)
    with open(os.path.join(cache, f".{digest}.lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks on this file system (some network ones): the whole-tree rename below still holds
        if os.path.isdir(target):
            return target  # another worker extracted it while this one waited
        tmp = tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=cache)
        try:
            with job_store.read_file_stream(file_id) as src, tempfile.TemporaryFile(dir=cache) as buf:
                shutil.copyfileobj(src, buf, CHUNK)
                buf.seek(0)
                if _sha256(buf) != digest:
                    raise ToilUserError(f"the user code shipped as {file_id} is damaged: its hash is not {digest}")
                with zipfile.ZipFile(buf) as z:
                    z.extractall(tmp)
            _rename_into_place(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _rename_into_place(tmp: str, target: str) -> None:
    try:
        os.rename(tmp, target)
    except OSError as e:
        # Another worker got there first (one that took no lock, e.g. on a file system without locks).
        if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise


def import_main(name: str, directory: str | None) -> ModuleType:
    """Import the module ``name`` from ``directory`` (put first on sys.path; None: as installed), as ``__main__``."""
    if directory is not None:
        _put_first(directory)
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        raise ImportError(f"cannot import the workflow's module {name} from {directory or sys.path}: {e}") from e
    if directory is not None and not _inside(getattr(module, "__file__", None), directory):
        # The name is taken (by the standard library, or a module already imported here): load the file under a
        # private name; pickles of __main__ find it all the same.
        module = _load_file("_toil_user_main", os.path.join(directory, *name.split(".")) + ".py")
    sys.modules["__main__"] = module
    return module


def _put_first(directory: str) -> None:
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)
    importlib.invalidate_caches()


def _inside(path: str | None, directory: str) -> bool:
    return bool(path) and os.path.realpath(str(path)).startswith(os.path.realpath(directory) + os.sep)


def _load_file(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the workflow's module from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
