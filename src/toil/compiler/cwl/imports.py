"""The files a CWL workflow is given, imported into the job store for workers that cannot read the leader's.

Where the batch system's workers share the leader's file system, the files
a workflow is given (its job order's, and those the document names itself)
are read where they are, by path (``files.py``). Where they do not (its
``shares_leader_files`` is False; ``--reference-inputs`` keeps the paths all
the same):

* the leader writes every local File and Directory of the job order, with
  the secondary files and listings cwltool found for it, into the job store,
  and the job order names them by ID: jobs read them into their work
  directories as they read files other jobs made;
* the leader writes the files the document names (File and Directory
  literals: input and step defaults, InitialWorkDirRequirement listings)
  into the job store, and the front-end record maps each location to its
  ID (``DOCUMENT_FILES``). A worker that loads the document again reads them
  into a directory of its own, once, and its copy of the document names
  them there; a value it passes on names them by ID again (``Files`` knows
  those copies).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterator, MutableMapping

from schema_salad.ref_resolver import file_uri

from toil.compiler.cwl.files import _local_path, _map_objects, note_document_copy
from toil.compiler.files import Store, group_key, leader_files_shared

if TYPE_CHECKING:
    from cwltool.process import Process

    from toil.runtime.config import Config
    from toil.runtime.jobstores import JobStore

DOCUMENT_FILES = "document_files"  # the front-end record's map: a file the document names -> its stored URI


def importing(options: Any, config: Config) -> bool:
    """Whether the leader imports the workflow's files: its workers cannot read them, and the user did not
    ask to pass them by reference."""
    return not getattr(options, "reference_inputs", False) and not leader_files_shared(config)


class GivenFiles:
    """The leader's imports of one run (one store: a file given twice is written once)."""

    def __init__(self, job_store: JobStore) -> None:
        # Copies, never references: the workers cannot follow a link to the leader's files.
        self.store = Store(job_store)

    def _write(self, path: str, kind: str) -> str:
        return self.store.write(path, group_key(kind, os.path.dirname(os.path.abspath(path))))

    def import_value(self, value: Any) -> Any:
        """A copy of a job order (or any value) with every local File and Directory in the job store."""

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            out = dict(obj)
            path = _local_path(out.get("location"))
            if path is not None and os.path.exists(path):
                out["location"] = self._write(path, "inputs")
                out.pop("path", None)  # the leader's path: the job that reads it gets its own
                out.pop("dirname", None)
            for key in ("secondaryFiles", "listing"):
                if isinstance(out.get(key), list):
                    out[key] = [_map_objects(e, put) for e in out[key]]
            return out

        return _map_objects(value, put)

    def import_document(self, root: Process) -> dict[str, str]:
        """Every local file the loaded document names, written into the job store: location -> stored URI."""
        imported: dict[str, str] = {}

        def note(obj: MutableMapping[str, Any]) -> None:
            for key in ("location", "path"):
                location = obj.get(key)
                path = _local_path(location)
                if isinstance(location, str) and location not in imported and path and os.path.exists(path):
                    imported[location] = self._write(path, "document")

        _visit_literals(root, note)
        return imported


def with_secondary_files(job_order: dict[str, Any], initialised: Any) -> dict[str, Any]:
    """The job order with the secondary files cwltool found for its Files (in ``initialised``, its job order
    as cwltool's ``_init_job`` left it) where it lists none."""
    found: dict[str, Any] = {}

    def note(obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("class") == "File" and isinstance(obj.get("secondaryFiles"), list):
            found.setdefault(str(obj.get("location")), obj["secondaryFiles"])
        return obj

    def add(obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("class") == "File" and "secondaryFiles" not in obj and str(obj.get("location")) in found:
            return dict(obj, secondaryFiles=found[str(obj.get("location"))])
        return obj

    _map_objects(initialised, note)
    return dict(_map_objects(job_order, add))


def materialize(root: Process, imported: dict[str, str], job_store: JobStore) -> str:
    """Read the files the document names out of the job store into a directory of this process (once, for every
    job it runs) and make the loaded document name them there; return the directory."""
    base = tempfile.mkdtemp(prefix="toil-cwl-document-files-")
    atexit.register(shutil.rmtree, base, True)
    store = Store(job_store)
    local: dict[str, str] = {}
    for location, uri in imported.items():
        path = store.read(uri, base, link="copy")
        note_document_copy(path, uri)
        local[location] = file_uri(path)

    def rename(obj: MutableMapping[str, Any]) -> None:
        for key in ("location", "path"):
            if isinstance(obj.get(key), str) and obj[key] in local:
                obj[key] = local[obj[key]]

    _visit_literals(root, rename)
    return base


def _visit_literals(root: Process, fn: Callable[[MutableMapping[str, Any]], None]) -> None:
    """Call ``fn`` on every File and Directory object of the loaded document (each once, in place)."""
    seen: set[int] = set()

    def visit(value: Any) -> None:
        if id(value) in seen:
            return
        if isinstance(value, MutableMapping):
            seen.add(id(value))
            if value.get("class") in ("File", "Directory"):
                fn(value)
            for item in list(value.values()):
                visit(item)
        elif isinstance(value, list):
            seen.add(id(value))
            for item in value:
                visit(item)

    for part in _parts(root):
        visit(part)


def _parts(root: Process) -> Iterator[Any]:
    """What of each process of the loaded document may hold File literals: its document, requirements, hints,
    input schema; and the same of its steps and the processes they run."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        process = stack.pop()
        if id(process) in seen:
            continue
        seen.add(id(process))
        yield from (process.tool, process.requirements, process.hints, process.inputs_record_schema)
        for step in getattr(process, "steps", ()):
            stack.append(step)
        embedded = getattr(process, "embedded_tool", None)
        if embedded is not None:
            stack.append(embedded)
