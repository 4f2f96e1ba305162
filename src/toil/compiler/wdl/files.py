"""Files and directories of WDL values, kept in the job store between nodes.

A File value held in the job store is ``toilfile:<group>/<file id>``; the
group names the directory the file came from (an input's source directory,
a task's output directory), so files that were siblings are localized as
siblings again: ``<base>/<group>/<basename>``. A Directory value is
``toildir:<group>/<manifest id>``, the manifest a JSON list of the files and
empty sub-directories under it. Input files are imported once by the leader,
outputs exported once at the end; between nodes a file is only linked from
the job store into the job's directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from typing import Any, Callable

from toil.compiler.wdl.values import DIRECTORY, FILE, map_files
from toil.exceptions import ToilUserError

FILE_SCHEME = "toilfile:"
DIR_SCHEME = "toildir:"


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


class Store:
    """Moves WDL files between the job store and local directories, for one process.

    ``write(local, group)`` stores a local file or directory (remembering local
    copies of stored files so returning an input does not store it twice);
    ``read(uri, base)`` links it under ``base`` and caches the local path.
    """

    def __init__(self, job_store: Any) -> None:
        self.job_store = job_store
        self._local: dict[str, str] = {}        # uri -> local path
        self._stored: dict[str, str] = {}       # local path -> uri
        self._taken: dict[str, str] = {}        # local path -> file id occupying it

    # -- into the job store
    def write(self, path: str, group: str) -> str:
        path = os.path.abspath(path)
        key = path.rstrip("/")
        if key in self._stored:
            return self._stored[key]
        if os.path.isdir(path):
            uri = DIR_SCHEME + group + "/" + self._write_manifest(key)
        else:
            file_id, _, _ = self.job_store.write_file(key, basename=os.path.basename(key))
            uri = FILE_SCHEME + group + "/" + file_id
        self._stored[key] = uri
        return uri

    def _write_manifest(self, root: str) -> str:
        files, dirs = [], []
        for parent, subdirs, names in os.walk(root, followlinks=True):
            rel = os.path.relpath(parent, root)
            if not subdirs and not names and rel != ".":
                dirs.append(rel)
            for name in sorted(names):
                full = os.path.join(parent, name)
                file_id, _, _ = self.job_store.write_file(full, basename=name)
                files.append([os.path.normpath(os.path.join(rel, name)), file_id])
        with self.job_store.write_file_stream(basename=os.path.basename(root)) as (f, manifest_id):
            f.write(json.dumps({"files": files, "dirs": dirs}).encode())
        return str(manifest_id)

    # -- out of the job store
    def read(self, uri: str, base: str) -> str:
        """A local path for a stored file or directory, linked under ``base`` (cached)."""
        if uri in self._local and os.path.exists(self._local[uri]):
            return self._local[uri]
        group, file_id = split_uri(uri)
        name = stored_basename(uri)
        dest = os.path.join(base, group, name)
        if self._taken.get(dest, file_id) != file_id:
            dest = os.path.join(base, group + "-" + file_id.split("/", 1)[0][:8], name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if uri.startswith(DIR_SCHEME):
            self._read_dir(file_id, dest)
        else:
            self.job_store.read_file(file_id, dest, link="hardlink")
        self._taken[dest] = file_id
        self._local[uri] = dest
        self._stored[dest] = uri
        return dest

    def _read_dir(self, manifest_id: str, dest: str,
                  put: Callable[[str, str], None] | None = None) -> None:
        """Recreate a stored directory at ``dest``; ``put(file id, path)`` places each file (default: link)."""
        put = put or (lambda file_id, target: self.job_store.read_file(file_id, target, link="hardlink"))
        with self.job_store.read_file_stream(manifest_id) as f:
            manifest = json.loads(f.read())
        os.makedirs(dest, exist_ok=True)
        for rel in manifest["dirs"]:
            os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for rel, file_id in manifest["files"]:
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            put(file_id, target)

    def export(self, uri: str, dest: str) -> None:
        """Copy a stored file or directory out to ``dest``."""
        file_id = split_uri(uri)[1]
        if uri.startswith(DIR_SCHEME):
            self._read_dir(file_id, dest, self.job_store.export_file)
        else:
            self.job_store.export_file(file_id, dest)


def localize(data: Any, store: Store, base: str) -> Any:
    """The JSON form with stored files replaced by local paths under ``base``."""
    def local(tag: str, value: str) -> str:
        if not is_stored(value):
            return value
        path = store.read(value, base)
        return path + "/" if tag == DIRECTORY else path
    return map_files(data, local)


def store_local(data: Any, store: Store, group_of: Callable[[str], str], base: str | None = None) -> Any:
    """The JSON form with local files and directories stored; paths that do not exist become null.

    Relative paths are taken from ``base`` (where the user started the workflow) when given.
    """
    def stored(tag: str, value: str) -> str | None:
        if is_stored(value) or is_url(value):
            return value
        path = value.rstrip("/")
        if base and not os.path.isabs(path):
            path = os.path.join(base, path)
        if not os.path.exists(path):
            return None
        return store.write(path, group_of(os.path.dirname(os.path.abspath(path))))
    return map_files(data, stored)


def import_inputs(data: Any, import_file: Callable[[str], tuple[str, int, bool] | None],
                  write_dir: Callable[[str], str], search: list[str]) -> Any:
    """Workflow inputs with every File/Directory imported into the job store (by the leader, once).

    Relative paths are looked up in ``search`` (the inputs file's directory,
    then the working directory).
    """
    def imported(tag: str, value: str) -> str:
        if is_stored(value):
            return value
        if is_url(value):
            if tag == DIRECTORY:
                raise ToilUserError(f"Directory inputs must be local paths, not {value}")
            result = import_file(value)
            assert result is not None
            return FILE_SCHEME + group_key(value.rsplit("/", 1)[0]) + "/" + result[0]
        path = value[len("file://"):] if value.startswith("file://") else value
        found = next((os.path.join(d, path) for d in search if os.path.exists(os.path.join(d, path))), None)
        if found is None:
            kind = "directory" if tag == DIRECTORY else "file"
            raise ToilUserError(f"input {kind} not found: {value}")
        found = os.path.abspath(found).rstrip("/")
        group = group_key(os.path.dirname(found))
        if tag == DIRECTORY or os.path.isdir(found):
            return DIR_SCHEME + group + "/" + write_dir(found)
        result = import_file(found)
        assert result is not None
        return FILE_SCHEME + group + "/" + result[0]
    return map_files(data, lambda tag, value: imported(tag, value))


def files_of(data: Any) -> list[str]:
    """The File/Directory strings in a JSON form."""
    found: list[str] = []

    def note(tag: str, value: str) -> str:
        found.append(value)
        return value
    map_files(data, note)
    return found


__all__ = ["Store", "localize", "store_local", "import_inputs", "files_of", "group_key", "FILE", "DIRECTORY"]
