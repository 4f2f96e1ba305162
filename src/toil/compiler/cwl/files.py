"""CWL File and Directory values between nodes: job-store IDs, localized by the job that reads them.

When a node finishes, every File and Directory of its result that it made
(in its tools' output directories or its work directory) is written into
the job store and its ``location`` becomes a stored URI (``toilfile:``/
``toildir:``, the form WDL uses too: ``toil.compiler.files``); one it read
by ID keeps that ID. A node that gives values to cwltool (to run a tool,
bind a job order, evaluate a ``valueFrom``) first reads the stored ones back
into its own work directory by ID, so no node needs a file system in common
with the one before it. Paths the workflow was given (its input files, the
document's defaults) stay paths: they are read where they are, on batch
systems whose workers share the leader's files; for the others the leader
imports them into the job store first (``imports.py``).

Where the job store is local, output files go in by reference and come back
as the paths the producing tool wrote them to, so a step reads them in place
as before. Literals (``_:`` locations, ``contents``), URLs, ``listing`` and
``secondaryFiles`` keep their shape; only locations change.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from schema_salad.ref_resolver import file_uri, uri_file_path

from toil.compiler.files import Store, group_key, is_stored, within

if TYPE_CHECKING:
    from toil.runtime.jobstores import JobStore

AREA = "cwl"  # the job store's local area for this front end (see ``worker_runtime_context``)
_document_copies: dict[str, str] = {}  # this process's copy of a file the document names -> its stored URI


def note_document_copy(path: str, uri: str) -> None:
    """Note a local copy of a stored file the document names (``imports.materialize``): a value naming it
    passes on its stored URI."""
    _document_copies[os.path.abspath(path)] = uri


class Files:
    """One node's view of the CWL data plane: ``localize`` before cwltool reads values, ``store_all`` after."""

    def __init__(self, job_store: JobStore, workdir: str, owner: str, link: str | None = None) -> None:
        local = job_store.local_area(AREA) is not None
        self.store = Store(job_store, in_place=local, transient=[workdir])
        for path, uri in _document_copies.items():
            self.store.note(uri, path)
        self.base = os.path.join(workdir, "inputs")
        self.owner = owner
        self._made: list[str] = []  # where this node's own files are: its work dir, its tools' output dirs
        self.made_in(workdir)
        # Files read out of a local store are linked (cwltool follows links when it stages them); from any
        # other store they are copies.
        self.link = link or ("symlink" if local else "copy")

    def made_in(self, directory: str) -> None:
        """Note a directory the node's files are made in (a tool's output directory)."""
        for form in (os.path.abspath(directory), os.path.realpath(directory)):
            if form not in self._made:
                self._made.append(form)

    def _ours(self, path: str) -> bool:
        """Whether the node made ``path`` or read it by ID (what it was given by path stays a path)."""
        return self.store.knows(path) or within(os.path.abspath(path), self._made)

    def localize(self, value: Any) -> Any:
        """A copy of the value with every stored File and Directory at a local path (as a file:// location)."""
        return _map_objects(value, self._localize_object)

    def store_all(self, value: Any) -> Any:
        """A copy of the value with every local File and Directory written into the job store."""
        return _map_objects(value, self._store_object)

    # -- one File or Directory object
    def _localize_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        location = out.get("location")
        local = None
        if isinstance(location, str) and is_stored(location):
            local = self.store.read(location, self.base, self.link)
            out["location"] = file_uri(local)
        elif isinstance(location, str) and is_url(location) and out.get("class") == "File":
            out["location"] = file_uri(self._fetch(location))
        if isinstance(out.get("secondaryFiles"), list):
            out["secondaryFiles"] = [self.localize(f) for f in out["secondaryFiles"]]
        if isinstance(out.get("listing"), list):
            out["listing"] = [self._localize_member(e, local) for e in out["listing"]]
        return out

    def _fetch(self, url: str) -> str:
        """A workflow input given by an s3:// or gs:// URL, read into this node's directory."""
        from toil.runtime.jobstores.file.fsutil import temp_name
        from toil.runtime.jobstores.urls import url_handler

        handler = url_handler(url)
        dest = os.path.join(self.base, "urls", group_key(url), handler.basename(url) or "file")
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = temp_name(dest)
            with open(tmp, "wb") as f:
                handler.copy_to(url, f)
            os.replace(tmp, dest)
        return dest

    def _localize_member(self, entry: Any, parent: str | None) -> Any:
        """A listing entry: where it is in its localized directory, else read by its own ID."""
        if not isinstance(entry, dict) or parent is None:
            return self.localize(entry)
        location, name = entry.get("location"), entry.get("basename")
        inside = os.path.join(parent, name) if isinstance(name, str) and name and "/" not in name else None
        if not (isinstance(location, str) and is_stored(location) and inside and os.path.exists(inside)):
            return self.localize(entry)
        self.store.note(location, inside)  # one local copy per stored item, passed back by its own ID
        out = dict(entry, location=file_uri(inside))
        if isinstance(out.get("secondaryFiles"), list):
            out["secondaryFiles"] = [self.localize(f) for f in out["secondaryFiles"]]
        if isinstance(out.get("listing"), list):
            out["listing"] = [self._localize_member(e, inside) for e in out["listing"]]
        return out

    def _store_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        path = _local_path(out.get("location"))
        if path is not None and os.path.exists(path) and self._ours(path):
            group = group_key(self.owner, os.path.dirname(os.path.abspath(path)))
            out["location"] = self.store.write(path, group)
            out.pop("path", None)  # this worker's paths: the reader gets its own
            out.pop("dirname", None)
        if isinstance(out.get("secondaryFiles"), list):
            out["secondaryFiles"] = [self.store_all(f) for f in out["secondaryFiles"]]
        if isinstance(out.get("listing"), list):
            out["listing"] = [self.store_all(e) for e in out["listing"]]
        return out


# Object store URLs, which cwltool cannot read (it reads http(s):// itself): the job that reads one fetches it.
URL_SCHEMES = ("s3://", "gs://")


def is_url(location: str) -> bool:
    """A location of an object store's file (fetched by the job that reads it)."""
    return location.startswith(URL_SCHEMES)


def _local_path(location: Any) -> str | None:
    if not isinstance(location, str):
        return None
    if location.startswith("file://"):
        return uri_file_path(location)
    return location if location.startswith("/") else None


def _map_objects(value: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    """A copy of a JSON value with every File/Directory object replaced by ``fn(object)``."""
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            return fn(value)
        return {k: _map_objects(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_objects(v, fn) for v in value]
    return value


def stored_ids(value: Any) -> list[str]:
    """The stored URIs a value holds (its Files and Directories, their secondary files and listings)."""
    found: list[str] = []

    def note(obj: dict[str, Any]) -> dict[str, Any]:
        location = obj.get("location")
        if isinstance(location, str) and is_stored(location):
            found.append(location)
        for key in ("secondaryFiles", "listing"):
            if isinstance(obj.get(key), list):
                _map_objects(obj[key], note)
        return obj

    _map_objects(value, note)
    return found
