"""Evaluating workflow-level WDL expressions in a node's process, with files in the job store.

miniwdl evaluates; this module gives it a standard library whose file reads
(``read_*``, ``size``) link stored files into the job's directory, and whose
``write_*`` files are stored once the value is bound.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import WDL
from WDL import StdLib, Value

from toil.compiler import values as refs
from toil.compiler.wdl import values as wv
from toil.compiler.wdl.document import Executable, WDLUserError, describe
from toil.compiler.wdl.files import Store, group_key, is_stored, is_url, store_local

EVAL_ERRORS = (
    WDL.Error.EvalError,
    WDL.Error.RuntimeError,
    WDL.Error.InputError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    ZeroDivisionError,
    FileNotFoundError,
)


class WorkflowStdLib(StdLib.Base):
    """The standard library outside tasks: stored files are linked in to be read."""

    def __init__(self, wdl_version: str, store: Store, base: str, launch_dir: str | None = None) -> None:
        super().__init__(wdl_version, write_dir=os.path.join(base, "write"))
        self._store = store
        self._base = base
        self._launch_dir = launch_dir

    def _devirtualize_filename(self, filename: str) -> str:
        if is_stored(filename):
            return self._store.read(filename, os.path.join(self._base, "files"))
        if self._launch_dir and not os.path.isabs(filename) and not is_url(filename):
            return os.path.join(self._launch_dir, filename)
        return filename

    def _virtualize_filename(self, filename: str) -> str:
        return filename  # stored when the value is bound (store_local)

    def _resolve_source_relative_path(self, filename: str) -> str:
        return filename


class Evaluator:
    """Evaluates declarations and expressions over an environment of stored JSON values."""

    def __init__(self, wdl_version: str, store: Store, base: str, owner: str, launch_dir: str | None = None) -> None:
        self.stdlib = WorkflowStdLib(wdl_version, store, base, launch_dir)
        self.store = store
        self.owner = owner  # groups the files written here
        self.launch_dir = launch_dir  # relative paths in workflow expressions are taken from here

    def bindings(self, env: dict[str, Any], names: Iterable[str] | None = None) -> WDL.Env.Bindings[Value.Base]:
        out: WDL.Env.Bindings[Value.Base] = WDL.Env.Bindings()
        for name in env if names is None else names:
            out = out.bind(name, wv.decode(env[name]))
        return out

    def store_value(self, v: Value.Base) -> Any:
        """The JSON form of a value, with files written during evaluation stored."""
        return store_local(wv.encode(v), self.store, lambda d: group_key(self.owner, d), self.launch_dir)

    def eval(self, expr: WDL.Expr.Base, env: WDL.Env.Bindings[Value.Base]) -> Value.Base:
        try:
            return expr.eval(env, stdlib=self.stdlib)
        except EVAL_ERRORS as e:
            raise WDLUserError(describe(e) if hasattr(e, "pos") else position_of(expr) + str(e)) from None

    def decl(self, decl: WDL.Tree.Decl, env: WDL.Env.Bindings[Value.Base]) -> Value.Base:
        if decl.expr is None:
            return Value.Null()
        v = self.eval(decl.expr, env)
        try:
            return v.coerce(decl.type)
        except EVAL_ERRORS as e:
            raise WDLUserError(f"{position_of(decl)}{decl.name}: {e}") from None


def position_of(node: WDL.Error.SourceNode) -> str:
    pos = node.pos
    return f"{pos.abspath or pos.uri}:{pos.line}:{pos.column}: "


def is_concrete(value: Any) -> bool:
    """True if a stored value holds no reference to another node's result."""
    return next(refs.iter_refs(value), None) is None


def needed(env: dict[str, Any], idents: set[str]) -> list[str]:
    """The bindings of ``env`` that expressions reading ``idents`` can see."""
    out = []
    for key in env:
        if key in idents or any(i.startswith(key + ".") or key.startswith(i + ".") for i in idents):
            out.append(key)
    return out


def coerce_inputs(callee: Executable, inputs: WDL.Env.Bindings[Value.Base]) -> WDL.Env.Bindings[Value.Base]:
    """Call inputs coerced to the callee's declared types (defaults make them optional), as miniwdl does."""
    available = callee.available_inputs
    out: WDL.Env.Bindings[Value.Base] = WDL.Env.Bindings()
    for b in inputs:
        v = b.value
        if b.name in available:
            decl = available[b.name]
            ty = decl.type.copy(optional=True) if decl.expr else decl.type
            try:
                v = v.coerce(ty)
            except EVAL_ERRORS as e:
                raise WDLUserError(f"{position_of(decl)}input {b.name}: {e}") from None
        out = out.bind(b.name, v)
    return out
