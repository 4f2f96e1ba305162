"""Files and directories of document values (CWL, WDL), kept in the job store between nodes.

A file held in the job store is ``toilfile:<group>/<file id>``; the group
names the directory the file came from (an input's source directory, a
task's output directory), so files that were siblings are localized as
siblings again: ``<base>/<group>/<basename>``. A directory is
``toildir:<group>/<manifest id>``, the manifest a JSON object listing the
files (each its own job-store file) and empty sub-directories under it.
A node reads only what its values name, by ID, so it needs no file system
in common with the node that wrote them.

Where the job store is local (``in_place``), a file whose content outlives
the job that made it goes in by reference (a symbolic link in the store,
no copy), and comes back as the path it was stored from; anything else is
copied in and linked or copied out.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Sequence

from toil.runtime.jobstores.base import NoSuchFileException

if TYPE_CHECKING:
    from toil.runtime.batch.base import BatchSystem, ContainerSupport
    from toil.runtime.config import Config

FILE_SCHEME = "toilfile:"
DIR_SCHEME = "toildir:"


def leader_files_shared(config: Any) -> bool:
    """Whether the workers of the workflow's batch system read the leader's files at its paths (a shared file
    system): if not, the front ends import the inputs the workflow was given into the job store.

    The batch system's class says (``shares_leader_files``); a name no batch system has is refused later,
    where the batch system starts.
    """
    cls = _batch_class(config)
    return True if cls is None else cls.shares_leader_files


def worker_containers(config: Config) -> ContainerSupport | None:
    """The container engines the workflow's workers have, if its batch system knows them (None: look here)."""
    cls = _batch_class(config)
    return None if cls is None else cls.worker_containers(config)


def _batch_class(config: Any) -> type[BatchSystem] | None:
    from toil.exceptions import ToilUserError
    from toil.runtime.batch import DEFAULT_BATCH_SYSTEM, batch_system_class

    try:
        return batch_system_class(getattr(config, "batchSystem", None) or DEFAULT_BATCH_SYSTEM)
    except ToilUserError:
        return None


def group_key(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:12]


def is_stored(uri: str) -> bool:
    return uri.startswith((FILE_SCHEME, DIR_SCHEME))


def split_uri(uri: str) -> tuple[str, str]:
    """(group, file id) of a stored file or directory URI."""
    body = uri.split(":", 1)[1]
    group, _, file_id = body.partition("/")
    return group, file_id


def stored_basename(uri: str) -> str:
    return split_uri(uri)[1].rstrip("/").rsplit("/", 1)[-1]


def is_url(text: str) -> bool:
    scheme = urllib.parse.urlparse(text).scheme
    return len(scheme) > 1 and scheme != "file"


def within(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or under one (paths compared as written)."""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


class Store:
    """Moves files between the job store and local directories, for one process.

    ``write(local, group)`` stores a local file or directory (remembering local
    copies of stored files so returning an input does not store it twice);
    ``read(uri, base)`` links it under ``base`` (or finds it in place) and
    caches the local path. ``transient`` directories go with the job (its work
    directory): what lies there is always copied in.
    """

    def __init__(self, job_store: Any, in_place: bool = False, transient: Sequence[str] = ()) -> None:
        self.job_store = job_store
        self.in_place = in_place and callable(getattr(job_store, "local_path", None))
        self._transient = [os.path.realpath(t) for t in transient]
        self._local: dict[str, str] = {}  # uri -> local path
        self._stored: dict[str, str] = {}  # local path -> uri
        self._taken: dict[str, str] = {}  # local path -> file id occupying it
        self._ids: dict[str, str] = {}  # local file path -> its file id (shared by directory manifests)
        self._copied: dict[str, tuple[int, int]] = {}  # local copy -> (mtime, size) as it was read
        self._dirs_read: list[str] = []  # local paths of the stored directories read

    # -- into the job store
    def write(self, path: str, group: str) -> str:
        path = os.path.abspath(path)
        key = path.rstrip("/") or "/"
        if key in self._stored and self._unchanged(key):
            return self._stored[key]
        if os.path.isdir(path):
            uri = DIR_SCHEME + group + "/" + self._write_manifest(key)
            self._copied.pop(key, None)
        else:
            uri = FILE_SCHEME + group + "/" + self._file_id(key)
        self._stored[key] = uri
        return uri

    def _file_id(self, path: str) -> str:
        if path not in self._ids or not self._unchanged(path):
            self._ids[path] = self._put(path)
            self._copied.pop(path, None)
        return self._ids[path]

    def _unchanged(self, path: str) -> bool:
        """Whether a copy read out of the job store is as it was read (a tool may update its inputs in place).

        A directory's copy is unchanged when it and every file copied into it are.
        """
        if not os.path.isdir(path):
            seen = self._copied.get(path)
            return seen is None or self._same(path, seen)
        inside = path.rstrip("/") + "/"
        return all(self._same(p, seen) for p, seen in self._copied.items() if p == path or p.startswith(inside))

    @staticmethod
    def _same(path: str, seen: tuple[int, int]) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_mtime_ns, st.st_size) == seen

    def _note_copy(self, path: str, link: str) -> None:
        if link == "copy":  # links share the stored file: an update in place is the stored file's
            st = os.stat(path)
            self._copied[path] = (st.st_mtime_ns, st.st_size)

    def _put(self, path: str) -> str:
        target = self._reference(path)
        if target is not None:
            # as a file: URL, so that names holding '#' or '?' stay whole
            found = self.job_store.import_file("file://" + urllib.parse.quote(target), symlink=True)
            if found is not None:
                return str(found[0])
        file_id, _, _ = self.job_store.write_file(path, basename=os.path.basename(path))
        return str(file_id)

    def _reference(self, path: str) -> str | None:
        """The path to store ``path`` by reference (in place), or None to copy it.

        Only content that outlives the job can be referenced: a path in (or
        through) a transient directory is referenced by its real path, or
        copied when that is transient too.
        """
        if not self.in_place:
            return None
        real = os.path.realpath(path)
        if within(real, self._transient):
            return None
        if within(os.path.realpath(os.path.dirname(path)), self._transient):
            return real
        return path

    def _write_manifest(self, root: str) -> str:
        files, dirs = [], []
        for parent, subdirs, names in os.walk(root, followlinks=True):
            rel = os.path.relpath(parent, root)
            if not subdirs and not names and rel != ".":
                dirs.append(rel)
            for name in sorted(names):
                full = os.path.join(parent, name)
                files.append([os.path.normpath(os.path.join(rel, name)), self._file_id(full)])
        manifest: dict[str, Any] = {"files": files, "dirs": dirs}
        in_place = self._reference(root)
        if in_place is not None:
            manifest["root"] = in_place  # where a reader on this machine finds the directory itself
        with self.job_store.write_file_stream(basename=os.path.basename(root)) as (f, manifest_id):
            f.write(json.dumps(manifest).encode())
        return str(manifest_id)

    # -- out of the job store
    def read(self, uri: str, base: str, link: str = "hardlink") -> str:
        """A local path for a stored file or directory: in place, or linked under ``base`` (cached).

        ``link`` is how a file is placed ('hardlink', 'symlink', 'copy'); files
        of a directory are never symbolic links, which would dangle in a
        container that mounts the directory.
        """
        if uri in self._local and os.path.exists(self._local[uri]):
            return self._local[uri]
        dest = self._found_in_place(uri) if self.in_place else None
        if dest is None:
            dest = self._place(uri, base, link)
        self._local[uri] = dest
        self._stored[dest] = uri
        if uri.startswith(DIR_SCHEME):
            self._dirs_read.append(dest)
        return dest

    def knows(self, path: str) -> bool:
        """Whether ``path`` is (or is in) a stored file or directory this process read or wrote."""
        key = os.path.abspath(path).rstrip("/") or "/"
        return key in self._stored or key in self._ids or within(key, self._dirs_read)

    def note(self, uri: str, path: str) -> None:
        """Record that a stored file or directory is at ``path`` here (a member of a directory read whole)."""
        self._local[uri] = path
        self._stored.setdefault(path, uri)
        if uri.startswith(DIR_SCHEME):
            self._dirs_read.append(path)

    def _place(self, uri: str, base: str, link: str) -> str:
        group, file_id = split_uri(uri)
        name = stored_basename(uri)
        dest = os.path.join(base, group, name)
        if self._taken.get(dest, file_id) != file_id:
            dest = os.path.join(base, group + "-" + file_id.split("/", 1)[0][:8], name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if uri.startswith(DIR_SCHEME):
            member = "copy" if link == "copy" else "hardlink"

            def put(fid: str, target: str) -> None:
                self.job_store.read_file(fid, target, link=member)
                self._note_copy(target, member)

            self._read_dir(file_id, dest, put)
            self._note_copy(dest, member)
        else:
            self.job_store.read_file(file_id, dest, link=link)
            self._note_copy(dest, link)
        self._taken[dest] = file_id
        return dest

    def _found_in_place(self, uri: str) -> str | None:
        """The path a stored file or directory was stored from by reference, if it is still there."""
        file_id = split_uri(uri)[1]
        if uri.startswith(DIR_SCHEME):
            manifest = self._manifest(file_id)
            root = manifest.get("root")
            if not isinstance(root, str) or not os.path.isdir(root):
                return None
            for rel, member in manifest["files"]:
                self._ids.setdefault(os.path.join(root, rel), member)
            return root
        try:
            stored = str(self.job_store.local_path(file_id))
        except (NoSuchFileException, OSError):  # gone, or not this store's: read it the ordinary way
            return None
        if not os.path.islink(stored):
            return None
        target = os.readlink(stored)
        if not os.path.isabs(target) or not os.path.exists(target):
            return None
        self._ids.setdefault(target, file_id)
        return target

    def _manifest(self, manifest_id: str) -> dict[str, Any]:
        with self.job_store.read_file_stream(manifest_id) as f:
            manifest: dict[str, Any] = json.loads(f.read())
        return manifest

    def _read_dir(self, manifest_id: str, dest: str, put: Callable[[str, str], None] | None = None) -> None:
        """Recreate a stored directory at ``dest``; ``put(file id, path)`` places each file (default: link)."""
        put = put or (lambda file_id, target: self.job_store.read_file(file_id, target, link="hardlink"))
        manifest = self._manifest(manifest_id)
        os.makedirs(dest, exist_ok=True)
        for rel in manifest["dirs"]:
            os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for rel, file_id in manifest["files"]:
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            put(file_id, target)
            self._ids.setdefault(target, file_id)

    def export(self, uri: str, dest: str) -> None:
        """Copy a stored file or directory out to ``dest``."""
        file_id = split_uri(uri)[1]
        if uri.startswith(DIR_SCHEME):
            self._read_dir(file_id, dest, self.job_store.export_file)
        else:
            self.job_store.export_file(file_id, dest)
