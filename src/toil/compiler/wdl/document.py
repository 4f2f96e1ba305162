"""Loading WDL documents with miniwdl, finding their tasks and workflows, and naming errors.

Documents are cached per process: the front end loads the document before the
workflow starts, so warm workers forked from the leader inherit the parsed
tree. The leader's load notes the text of the document and of every import
(``sources_of``), which the leader ships in the job store
(``toil.compiler.sources``); a worker elsewhere loads the document again
from that copy (``load(path, sources)``), resolving each import as the
leader's load did, so it needs none of the leader's files and every task
and workflow keeps the path the nodes name it by.
"""

from __future__ import annotations

import os
from typing import Awaitable, Callable, Optional, Union

import WDL

from toil.compiler.sources import Sources
from toil.exceptions import ToilUserError

Executable = Union[WDL.Tree.Task, WDL.Tree.Workflow]
ReadSource = Callable[[str, list[str], Optional[WDL.Tree.Document]], Awaitable[WDL.ReadSourceResult]]
_documents: dict[str, WDL.Tree.Document] = {}
_sources: dict[str, Sources] = {}  # main document path -> what loading it read (here, from files)


class WDLUserError(ToilUserError):
    """A mistake in a WDL document or its inputs: not retried."""


def position(exn: BaseException) -> str:
    pos = getattr(exn, "pos", None)
    if pos is None:
        node = getattr(exn, "node", None)
        pos = getattr(node, "pos", None)
    if pos is None:
        return ""
    return f"{pos.abspath or pos.uri}:{pos.line}:{pos.column}: "


def describe(exn: BaseException) -> str:
    """One line naming the file, line and column of a miniwdl error."""
    if isinstance(exn, WDL.Error.MultipleValidationErrors):
        return "; ".join(describe(e) for e in exn.exceptions[:5])
    text = " ".join(str(exn).split()) or type(exn).__name__
    return position(exn) + text


def load(path: str, sources: Sources | None = None) -> WDL.Tree.Document:
    """The parsed, type-checked document at ``path`` (cached); errors as one line with file:line:col.

    With ``sources`` (what the leader's load read), the texts come from them; else from files, noted for
    ``sources_of``.
    """
    path = os.path.abspath(path)
    if path not in _documents:
        noted = Sources()
        if sources is None and not os.path.exists(path):
            raise WDLUserError(f"no such WDL file: {path}")
        read = reader_serving(sources) if sources is not None else reader_noting(noted)
        try:
            doc = WDL.load(path, path=[os.path.dirname(path)], read_source=read)
        except (
            WDL.Error.SyntaxError,
            WDL.Error.ValidationError,
            WDL.Error.MultipleValidationErrors,
            WDL.Error.ImportError,
        ) as e:
            raise WDLUserError(describe(e)) from None
        except UnicodeDecodeError as e:
            raise WDLUserError(
                f"{path} (or a document it imports): not UTF-8 text: byte {e.start} is "
                f"{e.object[e.start : e.start + 1]!r}"
            ) from None
        except (AttributeError, TypeError, IndexError, KeyError, ValueError, RecursionError) as e:
            if not _raised_in_miniwdl(e):
                raise
            # miniwdl fails this way on some documents it cannot parse (one that is only a comment)
            raise WDLUserError(f"{path}: not a WDL document miniwdl can parse ({type(e).__name__}: {e})") from None
        check_version_rules(doc)
        _documents[path] = doc
        _sources[path] = sources if sources is not None else noted
    return _documents[path]


def is_loaded(path: str) -> bool:
    return os.path.abspath(path) in _documents


def sources_of(path: str) -> Sources:
    """The texts loading the document at ``path`` read: the document's and its imports' (it must be loaded)."""
    return _sources[os.path.abspath(path)]


def _import_key(uri: str, importer: WDL.Tree.Document | None) -> str:
    """How an import is named: the URI as written, and the document importing it (none for the main one)."""
    return f"import:{importer.pos.abspath if importer is not None else ''}\n{uri}"


def reader_noting(noted: Sources) -> ReadSource:
    """miniwdl's ``read_source``, reading files as its default does, noting each text and what each import
    resolved to."""

    async def read(uri: str, path: list[str], importer: WDL.Tree.Document | None) -> WDL.ReadSourceResult:
        result = await WDL.read_source_default(uri, path, importer)
        noted.note(result.abspath, result.source_text)
        noted.note_fact(_import_key(uri, importer), result.abspath)
        return result

    return read


def reader_serving(sources: Sources) -> ReadSource:
    """miniwdl's ``read_source`` answering from ``sources``: an import resolves to the file the leader's load
    found, with its text; one they do not hold is read from here."""

    async def read(uri: str, path: list[str], importer: WDL.Tree.Document | None) -> WDL.ReadSourceResult:
        abspath = sources.fact(_import_key(uri, importer))
        text = sources.text(abspath) if isinstance(abspath, str) else None
        if text is None:
            return await WDL.read_source_default(uri, path, importer)
        return WDL.ReadSourceResult(source_text=text, abspath=abspath)

    return read


def _raised_in_miniwdl(e: BaseException) -> bool:
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    return bool(frames) and f"{os.sep}WDL{os.sep}" in frames[-1].filename


def all_documents(doc: WDL.Tree.Document) -> list[WDL.Tree.Document]:
    seen: dict[int, WDL.Tree.Document] = {}
    stack = [doc]
    while stack:
        d = stack.pop()
        if id(d) not in seen:
            seen[id(d)] = d
            stack.extend(imp.doc for imp in d.imports if imp.doc is not None)
    return list(seen.values())


def ref_of(exe: Executable) -> list[str]:
    """How nodes name a task or workflow: [absolute path of its document, name]."""
    return [exe.pos.abspath, exe.name]


def find(main_path: str, ref: list[str]) -> Executable:
    """The task or workflow a node names (loading the main document if this process has not)."""
    abspath, name = ref
    for doc in all_documents(load(main_path)):
        if doc.pos.abspath != abspath:
            continue
        if doc.workflow is not None and doc.workflow.name == name:
            return doc.workflow
        for task in doc.tasks:
            if task.name == name:
                return task
    raise WDLUserError(f"{abspath}: no task or workflow named {name}")


def target_of(doc: WDL.Tree.Document) -> Executable:
    """What a document runs: its workflow, or its only task."""
    if doc.workflow is not None:
        return doc.workflow
    if len(doc.tasks) == 1:
        return doc.tasks[0]
    raise WDLUserError(f"{doc.pos.abspath}: the document has no workflow and {len(doc.tasks)} tasks: nothing to run")


def node_idents(node: WDL.Error.SourceNode) -> set[str]:
    """The names a workflow node (and everything inside it) reads."""
    cache: set[str] | None = getattr(node, "_toil_idents", None)
    if cache is not None:
        return cache
    names: set[str] = set()
    stack: list[WDL.Error.SourceNode] = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, WDL.Expr.Ident):
            names.add(str(x.name))
        stack.extend(x.children)
    setattr(node, "_toil_idents", names)
    return names


def all_dependencies(node: WDL.Tree.WorkflowNode) -> set[str]:
    """The workflow node ids a node, or anything inside a section, depends on."""
    deps = set(node.workflow_node_dependencies)
    if isinstance(node, WDL.Tree.WorkflowSection):
        for inner in node.body:
            deps |= all_dependencies(inner)
    return deps


def check_version_rules(doc: WDL.Tree.Document) -> None:
    """Rules of WDL 1.1 that miniwdl's type checker lets pass: no compound value coerces to a String.

    An array literal mixing a compound item with strings would make the compound a String.
    """
    for d in all_documents(doc):
        version = d.effective_wdl_version
        if version in ("draft-2", "1.0"):
            continue
        stack: list[WDL.Error.SourceNode] = [d]
        while stack:
            x = stack.pop()
            if (
                isinstance(x, WDL.Expr.Array)
                and isinstance(x.type, WDL.Type.Array)
                and isinstance(x.type.item_type, WDL.Type.String)
            ):
                for item in x.items:
                    if isinstance(
                        item.type,
                        (WDL.Type.Array, WDL.Type.Map, WDL.Type.Pair, WDL.Type.StructInstance, WDL.Type.Object),
                    ):
                        pos = item.pos
                        raise WDLUserError(
                            f"{pos.abspath or pos.uri}:{pos.line}:{pos.column}: a {item.type} value "
                            f"cannot be coerced to String in WDL {version}"
                        )
            stack.extend(x.children)
