"""The node kinds a worker can run, each registered by the front end that compiles nodes of it.

The built-in front ends list theirs in toil/compiler/kinds.py; a plugin
declares its own as entry points of the group ``toil.node_kinds``
(``kind = "module:function"``), looked up only for a kind no one else named
(scanning installed packages costs tens of milliseconds per process), or
calls ``register_kind``. The runtime names no front end, and a worker imports
a runner only when a node of its kind arrives.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Callable

from toil.compiler.kinds import BUILTIN_KINDS
from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.runtime.worker.attempt import RunContext, RunOutcome

ENTRY_POINT_GROUP = "toil.node_kinds"
Runner = Callable[["RunContext"], "RunOutcome"]

_targets: dict[str, str] = dict(BUILTIN_KINDS)
_scanned = False
_loaded: dict[str, Runner] = {}


def register_kind(kind: str, target: str) -> None:
    """Make workers run nodes of ``kind`` with the function ``target`` names ("module:function")."""
    _targets[kind] = target
    _loaded.pop(kind, None)


def kind_targets() -> dict[str, str]:
    """Every kind known so far and the runner it names."""
    return _targets


def _target(kind: str) -> str | None:
    global _scanned
    if kind not in _targets and not _scanned:
        _scanned = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _targets.setdefault(ep.name, ep.value)
    return _targets.get(kind)


def runner_for(kind: str) -> Runner:
    if kind not in _loaded:
        target = _target(kind)
        if target is None:
            raise ToilUserError(
                f"this worker cannot run nodes of kind {kind!r} (known kinds: "
                f"{', '.join(sorted(kind_targets())) or 'none: is toil installed?'})"
            )
        module, _, name = target.partition(":")
        _loaded[kind] = getattr(importlib.import_module(module), name)
    return _loaded[kind]


def warm_up() -> None:
    """Import, in the fork server, the runners of the front ends the leader uses, so jobs need not.

    A front end is in use when the leader imported its package (toil.job imports the Python one;
    toil-cwl-runner the CWL one): importing cwltool or miniwdl, or even the Python API, for every
    workflow would slow every start.
    """
    for kind, target in kind_targets().items():
        package = target.partition(":")[0].rpartition(".")[0]
        if package not in sys.modules:
            continue
        try:
            runner_for(kind)
        except ImportError:
            pass
    import uuid  # noqa: F401  (used by atomic writes and compilation)
