"""Keep cwltool's parsed CWL schemas between runs.

cwltool parses the CWL schema (YAML) at every start: about half a second,
most of a small tool's run. The parsed schema depends only on the cwltool
and schema-salad versions, so it is pickled once per version into the user's
cache directory and read back (in ~10 ms) by later runs. A cache that cannot
be read or written is ignored: the schema is parsed as cwltool would.
"""

from __future__ import annotations

import copyreg
import importlib.metadata
import logging
import os
import pickle
import sys
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from schema_salad.ref_resolver import NormDict

log = logging.getLogger("toil.cwl")

STANDARD_VERSIONS = ("v1.0", "v1.1", "v1.2")


def _reduce_normdict(d: NormDict) -> tuple[Any, ...]:
    # schema-salad's NormDict sets its normalising function in __init__, which pickle's default
    # reconstruction skips before filling the dict.
    return (type(d), (d.normalize,), None, None, iter(dict.items(d)))


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = (
        f"cwltool-{importlib.metadata.version('cwltool')}-salad-{importlib.metadata.version('schema-salad')}"
        f"-py{sys.version_info.major}.{sys.version_info.minor}"
    )
    return os.path.join(base, "toil", "cwl-schemas", key)


def setup_schemas(args: argparse.Namespace) -> None:
    """cwltool's schema set-up, then the standard schemas from the cache (parsed and saved on a miss)."""
    import cwltool.main
    from cwltool import process
    from schema_salad.ref_resolver import NormDict

    cwltool.main.setup_schema(args, None)
    if getattr(args, "enable_ext", False) or os.environ.get("TOIL_CWL_NO_SCHEMA_CACHE"):
        return
    copyreg.pickle(NormDict, _reduce_normdict)
    directory = cache_dir()
    for version in STANDARD_VERSIONS:
        path = os.path.join(directory, f"{version}.pickle")
        try:
            with open(path, "rb") as f:
                process.SCHEMA_CACHE[version] = pickle.load(f)
            continue
        except FileNotFoundError:
            pass
        except Exception as e:  # a damaged or incompatible cache: parse again and replace it
            log.debug("Ignoring the cached CWL schema %s: %s", path, e)
        _save(path, process.get_schema(version))  # pristine: saved before any document used it


def _save(path: str, schema: Any) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".schema-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(schema, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception as e:
        log.debug("Could not cache the CWL schema in %s: %s", path, e)
