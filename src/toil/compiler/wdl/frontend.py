"""The front end's run: document and inputs in, outputs (exported) out, on the shared driver."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from argparse import Namespace
from typing import TYPE_CHECKING, Any

import WDL
from WDL import Tree

from toil.compiler import values as refs
from toil.compiler.dag import SubDag, json_node
from toil.compiler.files import leader_files_shared, worker_containers
from toil.compiler.ir import NodeSpec
from toil.compiler.sources import RECORD_KEY
from toil.compiler.wdl import document
from toil.compiler.wdl import values as wv
from toil.compiler.wdl.compile import KIND, NOOP_RESOURCES, task_node
from toil.compiler.wdl.containers import resolve_engine
from toil.compiler.wdl.document import WDLUserError, describe
from toil.compiler.wdl.evaluate import Evaluator
from toil.compiler.wdl.files import Store, import_inputs, is_stored, split_uri, stored_basename
from toil.compiler.wdl.runner import default_resources, limits_for
from toil.runtime.driver import config_from_options, run_workflow
from toil.runtime.observe.logs import set_logging_from_options

if TYPE_CHECKING:
    from toil.runtime.batch.base import ContainerSupport
    from toil.runtime.workflow import Workflow

log = logging.getLogger("toil.wdl")


def parse_inputs(target: document.Executable, data: dict[str, Any]) -> dict[str, Any]:
    """The user's inputs checked against the target's declarations (miniwdl), as stored JSON."""
    try:
        env = WDL.values_from_json(data, target.available_inputs, target.required_inputs, namespace=target.name)
    except (WDL.Error.InputError, WDL.Error.RuntimeError, ValueError, TypeError) as e:
        raise WDLUserError(f"inputs: {describe(e)}") from None
    return wv.encode_env(env)


def run(options: Namespace, inputs: dict[str, Any], search: list[str]) -> dict[str, Any]:
    """Run the document's workflow (or only task) on these inputs; return the outputs, exported."""
    doc_path = os.path.abspath(options.wdl)
    config = config_from_options(options, "toil-wdl-")
    record: dict[str, Any] = {"doc": doc_path}
    if not config.restart:
        doc = document.load(doc_path)  # before the workers fork: they inherit the parsed document
        target = document.target_of(doc)
        stored_inputs = parse_inputs(target, inputs)
        record["target"] = target.name
    else:
        stored_inputs = {}

    def build(workflow: Workflow) -> tuple[list[NodeSpec], str]:
        store = Store(workflow.job_store)
        record[RECORD_KEY] = document.sources_of(doc_path).save(workflow.job_store)  # for workers elsewhere
        shared = leader_files_shared(config)  # if not, a link to the leader's input would not do: a copy
        imported = import_inputs(
            stored_inputs,
            lambda p: workflow.job_store.import_file(p, symlink=shared),
            lambda p: store._write_manifest(p),
            search,
        )
        dag = SubDag()
        if isinstance(target, Tree.Workflow):
            payload = {
                "op": "workflow",
                "doc": doc_path,
                "wf": document.ref_of(target),
                "env": imported,
                "where": target.name,
                "cwd": os.getcwd(),
            }
            spec = json_node(KIND, target.name, target.name, NOOP_RESOURCES, payload, hint=target.name)
        else:
            scratch = tempfile.mkdtemp(prefix="toil-wdl-eval-")
            ev = Evaluator(target.effective_wdl_version, store, scratch, "leader", os.getcwd())
            spec = task_node(
                doc_path, target, imported, target.name, ev, default_resources(config), target.name, limits_for(config)
            )
        record["root"] = dag.add(spec)
        return dag.as_graph(f"wdl {target.name}")

    def read_output(workflow: Workflow, rec: dict[str, Any]) -> dict[str, Any]:
        value = refs.ReturnReader.of(workflow.job_store).return_of(rec["root"])
        outdir = os.path.abspath(
            options.output_directory or os.path.join(os.getcwd(), f"wdl-out-{uuid.uuid4().hex[:8]}")
        )
        exported = export_outputs(value or {}, Store(workflow.job_store), outdir)
        named = {f"{rec['target']}.{k}": wv.decode(v).json for k, v in exported.items()}
        if options.output_dialect == "miniwdl":
            return {"dir": outdir, "outputs": named}
        return named

    set_logging_from_options(config)
    if not config.restart:  # a restart uses the engine of the first run (its record)
        workers = worker_containers(config)
        record["container"] = choose_engine(getattr(options, "container", "auto"), document.load(doc_path), workers)
    return dict(run_workflow(config, build, read_output, record))


def export_outputs(outputs: dict[str, Any], store: Store, outdir: str) -> dict[str, Any]:
    """Copy stored output files to ``outdir`` (a sub-directory per source where names collide)."""
    used: dict[str, str] = {}

    def export(tag: str, uri: str) -> str:
        if not is_stored(uri):
            return uri
        name = stored_basename(uri)
        dest = os.path.join(outdir, name)
        if used.get(dest, uri) != uri:
            dest = os.path.join(outdir, split_uri(uri)[0] + "-" + split_uri(uri)[1].split("/", 1)[0][:8], name)
        if dest not in used:
            used[dest] = uri
            store.export(uri, dest)
        return dest + ("/" if tag == wv.DIRECTORY and not dest.endswith("/") else "")

    return {k: wv.map_files(v, export) for k, v in outputs.items()}


def choose_engine(choice: str, doc: WDL.Tree.Document, workers: ContainerSupport | None = None) -> str | None:
    """The engine tasks naming an image run in (None: without one, said once if the document names any);
    ``workers``: the batch system's engines, where its workers are not this machine."""
    images: list[str] = []
    for d in document.all_documents(doc):
        for task in d.tasks:
            expr = task.runtime.get("container", task.runtime.get("docker"))
            if expr is not None:
                literal = expr.literal
                text = str(literal.value) if literal is not None else str(expr)
                if text not in images:
                    images.append(text)
    engine = resolve_engine(choice, bool(images), workers)
    if images and engine is None:
        where = "here" if workers is None else "on this batch system's workers"
        why = (
            "--container none"
            if choice == "none"
            else f"no container engine works {where} (tried docker, podman, singularity/apptainer)"
            + (f"; {workers.hint}" if workers is not None and workers.hint else "")
        )
        log.warning(
            "Tasks run without a container (%s): their container image(s) are ignored (%s)",
            why,
            ", ".join(images[:5]) + (" ..." if len(images) > 5 else ""),
        )
    return engine
