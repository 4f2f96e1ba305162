"""Files and directories of WDL values, kept in the job store between nodes.

The mechanism (the stored URIs, ``Store``) is shared with CWL: see
``toil.compiler.files``. A File value held in the job store is
``toilfile:<group>/<file id>``, a Directory ``toildir:<group>/<manifest id>``.
Input files are imported once by the leader, outputs exported once at the
end; between nodes a file is only linked from the job store into the job's
directory.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from toil.compiler.files import DIR_SCHEME, FILE_SCHEME, Store, group_key, is_stored, is_url, split_uri, stored_basename
from toil.compiler.wdl.values import DIRECTORY, FILE, map_files
from toil.exceptions import ToilUserError


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


def import_inputs(
    data: Any,
    import_file: Callable[[str], tuple[str, int, bool] | None],
    write_dir: Callable[[str], str],
    search: list[str],
) -> Any:
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
        path = value[len("file://") :] if value.startswith("file://") else value
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


__all__ = [
    "Store",
    "localize",
    "store_local",
    "import_inputs",
    "files_of",
    "group_key",
    "is_stored",
    "is_url",
    "split_uri",
    "stored_basename",
    "FILE_SCHEME",
    "DIR_SCHEME",
    "FILE",
    "DIRECTORY",
]
