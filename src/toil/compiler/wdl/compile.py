"""WDL workflows onto the IR: expand a workflow body into a sub-DAG of nodes.

A node that expands (the workflow, a deferred scatter or conditional, a call
whose inputs were not known yet) walks its part of the body in dependency
order with an environment of stored JSON values (``values.py``). A value
computed by another node is a reference ``{"$ref": [node, key]}``:

* a declaration whose inputs are all known is evaluated here; otherwise it
  becomes a ``decls`` node;
* a call whose inputs are known becomes a ``task`` node with its resources
  (or a ``workflow`` node for a subworkflow); otherwise a ``call`` node that
  does this once its inputs exist;
* a scatter or conditional whose array or condition is known is expanded
  here, each iteration in its own copy of the environment, and its values
  gathered as arrays (of values or references); otherwise it becomes a
  ``section`` node that expands it later.

So a scatter over a known array of N calls becomes N task nodes added at
once, with no per-iteration job. Consumers are follow-ons of the nodes they
read (``SubDag``), which also carries ``after`` dependencies.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any, Iterable, MutableMapping

import WDL
from WDL import Tree, Value

from toil.compiler import values as refs
from toil.compiler.dag import SubDag, json_node
from toil.compiler.ir import NodeSpec, Resources
from toil.compiler.wdl import values as wv
from toil.compiler.wdl.document import all_dependencies, node_idents, ref_of
from toil.compiler.wdl.evaluate import Evaluator, coerce_inputs, is_concrete, needed
from toil.compiler.wdl.resources import clamp, from_runtime

KIND = "wdl"
NOOP_RESOURCES = Resources(0.1, 64 * 1024 * 1024, 0)  # expansion and evaluation nodes are light


class Expander:
    """Adds the nodes of one workflow's body (or part of it) to a SubDag."""

    def __init__(
        self,
        doc_path: str,
        workflow: Tree.Workflow,
        evaluator: Evaluator,
        defaults: Resources,
        overrides: dict[str, Any] | None = None,
        where: str = "",
        limits: Resources | None = None,
    ) -> None:
        self.doc_path = doc_path
        self.workflow = workflow
        self.ev = evaluator
        self.defaults = defaults
        self.limits = limits
        self.overrides = overrides or {}
        self.where = where or workflow.name
        self.dag = SubDag()
        self.added: list[str] = []  # node ids in the order they were added (dag.specs is keyed)
        self.ir_of: MutableMapping[str, set[str]] = ChainMap({})

    # ------------------------------------------------------------------ walking a body
    def body(self, nodes: list[Tree.WorkflowNode], env: dict[str, Any], where: str | None = None) -> None:
        """Process the nodes in dependency order, binding what each produces in ``env``."""
        where = where or self.where
        for node in _ordered(nodes):
            before = len(self.added)
            self.node(node, env, where)
            added = set(self.added[before:])
            self.ir_of[node.workflow_node_id] = added
            if isinstance(node, Tree.WorkflowSection):
                for g in node.gathers.values():
                    self.ir_of[g.workflow_node_id] = added

    def node(self, node: Tree.WorkflowNode, env: dict[str, Any], where: str) -> None:
        if isinstance(node, Tree.Decl):
            self.decl(node, env)
        elif isinstance(node, Tree.Call):
            self.call(node, env, where)
        elif isinstance(node, Tree.Scatter):
            self.scatter(node, env, where)
        elif isinstance(node, Tree.Conditional):
            self.conditional(node, env, where)
        else:
            raise NotImplementedError(f"WDL workflow node {type(node).__name__}")

    def _visible(self, node: Tree.WorkflowNode, env: dict[str, Any]) -> dict[str, Any]:
        return {k: env[k] for k in needed(env, node_idents(node))}

    def _ready(self, node: Tree.WorkflowNode, env: dict[str, Any]) -> dict[str, Any] | None:
        """The bindings the node reads if all are known now, else None."""
        visible = self._visible(node, env)
        return visible if all(is_concrete(v) for v in visible.values()) else None

    def _defer(
        self, node: Tree.WorkflowNode, op: str, env: dict[str, Any], where: str, extra: dict[str, Any], display: str
    ) -> str:
        """Add a node that runs ``op`` later, after the nodes its values and ``after`` clauses name."""
        visible = self._visible(node, env)
        deps = set(refs.iter_refs(visible))
        for dep in all_dependencies(node):
            deps |= self.ir_of.get(dep, set())
        payload = {
            "op": op,
            "doc": self.doc_path,
            "wf": ref_of(self.workflow),
            "env": visible,
            "where": where,
            **extra,
            **self._launch(),
        }
        if self.overrides:
            payload["ov"] = self.overrides
        spec = json_node(KIND, op, display, NOOP_RESOURCES, payload, hint=op)
        return self._add(spec, deps)

    def _launch(self) -> dict[str, str]:
        return {"cwd": self.ev.launch_dir} if self.ev.launch_dir else {}

    def _add(self, spec: NodeSpec, deps: Iterable[str] = ()) -> str:
        self.added.append(spec.id)
        return self.dag.add(spec, deps)

    # ------------------------------------------------------------------ declarations
    def decl(self, decl: Tree.Decl, env: dict[str, Any]) -> None:
        if decl.name in env and not (env[decl.name] is None and decl.expr is not None and not decl.type.optional):
            return  # a workflow input given by the user
        visible = self._ready(decl, env)
        if visible is None:
            node_id = self._defer(
                decl, "decls", env, self.where, {"decls": [decl.workflow_node_id]}, f"{self.where}.{decl.name}"
            )
            env[decl.name] = refs.ref(node_id, decl.name)
            return
        env[decl.name] = self.ev.store_value(self.ev.decl(decl, self.ev.bindings(visible)))

    def decls_group(self, decls: list[Tree.Decl], env: dict[str, Any], display: str) -> None:
        """Several declarations (a workflow's outputs): evaluated here, or together in one node."""
        idents: set[str] = set()
        for d in decls:
            idents |= node_idents(d)
        visible = {k: env[k] for k in needed(env, idents)}
        if all(is_concrete(v) for v in visible.values()):
            for d in decls:
                env[d.name] = self.ev.store_value(self.ev.decl(d, self.ev.bindings(env, needed(env, node_idents(d)))))
            return
        deps = set(refs.iter_refs(visible))
        payload = {
            "op": "decls",
            "doc": self.doc_path,
            "wf": ref_of(self.workflow),
            "env": visible,
            "where": self.where,
            "decls": [d.workflow_node_id for d in decls],
            **self._launch(),
        }
        node_id = self._add(json_node(KIND, "outputs", display, NOOP_RESOURCES, payload, hint="outputs"), deps)
        for d in decls:
            env[d.name] = refs.ref(node_id, d.name)

    # ------------------------------------------------------------------ calls
    def call(self, call: Tree.Call, env: dict[str, Any], where: str) -> None:
        display = f"{where}.{call.name}"
        visible = self._ready(call, env)
        if visible is None:
            node_id = self._defer(call, "call", env, where, {"node": call.workflow_node_id}, display)
        else:
            inputs = self.call_inputs(call, visible)
            deps: set[str] = set()
            for dep in all_dependencies(call):
                deps |= self.ir_of.get(dep, set())
            node_id = self._add(self.callee_spec(call, inputs, display), deps)
        for b in call.effective_outputs:
            env[b.name] = refs.ref(node_id, b.name[len(call.name) + 1 :])

    def call_inputs(self, call: Tree.Call, visible: dict[str, Any]) -> dict[str, Any]:
        """The call's input values (its expressions, then inputs the user set for it), stored."""
        env = self.ev.bindings(visible)
        values: WDL.Env.Bindings[Value.Base] = WDL.Env.Bindings()
        for name, expr in call.inputs.items():
            values = values.bind(name, self.ev.eval(expr, env))
        prefix = call.name + "."
        for key, v in self.overrides.items():
            if key.startswith(prefix):
                values = values.bind(key[len(prefix) :], wv.decode(v))
        assert call.callee is not None  # document.load type-checked the document, which resolves callees
        values = coerce_inputs(call.callee, values)
        return {b.name: self.ev.store_value(b.value) for b in values}

    def callee_spec(self, call: Tree.Call, inputs: dict[str, Any], display: str) -> NodeSpec:
        """The node running the callee: a task node, or a workflow node that expands the subworkflow."""
        callee = call.callee
        if isinstance(callee, Tree.Workflow):
            payload = {
                "op": "workflow",
                "doc": self.doc_path,
                "wf": ref_of(callee),
                "env": inputs,
                "where": display,
                **self._launch(),
            }
            return json_node(KIND, callee.name, display, NOOP_RESOURCES, payload, hint=call.name)
        assert isinstance(callee, Tree.Task)
        return task_node(self.doc_path, callee, inputs, display, self.ev, self.defaults, call.name, self.limits)

    # ------------------------------------------------------------------ sections
    def scatter(self, section: Tree.Scatter, env: dict[str, Any], where: str) -> None:
        if self._ready_expr(section, env) is None:
            self._defer_section(section, env, where)
            return
        array = self.ev.eval(section.expr, self.ev.bindings(env, needed(env, _expr_idents(section.expr))))
        assert isinstance(array, Value.Array)
        results = []
        for i, item in enumerate(array.value):
            inner = dict(env)
            inner[section.variable] = self.ev.store_value(item)
            saved = self.ir_of
            self.ir_of = saved.new_child() if isinstance(saved, ChainMap) else ChainMap({}, saved)
            try:
                self.body(section.body, inner, f"{where}[{i}]")
            finally:
                self.ir_of = saved
            results.append(inner)
        for name in gathered_names(section):
            env[name] = [r.get(name) for r in results]

    def conditional(self, section: Tree.Conditional, env: dict[str, Any], where: str) -> None:
        if self._ready_expr(section, env) is None:
            self._defer_section(section, env, where)
            return
        cond = self.ev.eval(section.expr, self.ev.bindings(env, needed(env, _expr_idents(section.expr))))
        names = gathered_names(section)
        if not cond.value:
            for name in names:
                env[name] = None
            return
        inner = dict(env)
        self.body(section.body, inner, where)
        for name in names:
            env[name] = inner.get(name)

    def _ready_expr(self, section: Tree.Scatter | Tree.Conditional, env: dict[str, Any]) -> bool | None:
        names = needed(env, _expr_idents(section.expr))
        return True if all(is_concrete(env[n]) for n in names) else None

    def _defer_section(self, section: Tree.WorkflowSection, env: dict[str, Any], where: str) -> None:
        node_id = self._defer(
            section, "section", env, where, {"node": section.workflow_node_id}, f"{where}.{section.workflow_node_id}"
        )
        for name in gathered_names(section):
            env[name] = refs.ref(node_id, name)

    # ------------------------------------------------------------------ a whole workflow
    def workflow_body(self, env: dict[str, Any]) -> dict[str, Any]:
        """Expand inputs, body and outputs; return the outputs (values or references)."""
        wf = self.workflow
        self.body(list(wf.inputs or []) + list(wf.body), env)
        if wf.outputs is None:
            return {b.name: env.get(b.name) for b in wf.effective_outputs}
        self.decls_group(list(wf.outputs), env, f"{self.where}.outputs")
        return {d.name: env[d.name] for d in wf.outputs}


def task_node(
    doc_path: str,
    task: Tree.Task,
    inputs: dict[str, Any],
    display: str,
    ev: Evaluator,
    defaults: Resources,
    hint: str,
    limits: Resources | None = None,
) -> NodeSpec:
    """A node running the task on these inputs, with the resources its runtime section asks for."""
    tr = from_runtime(runtime_values(task, inputs, ev), defaults)
    tr.resources = clamp(tr.resources, limits)
    payload: dict[str, Any] = {"op": "task", "doc": doc_path, "task": ref_of(task), "inputs": inputs, "call": display}
    node = json_node(KIND, task.name, display, tr.resources, payload, retries=tr.retries, hint=hint)
    if tr.preemptible_tries:
        node.preemptible_tries = tr.preemptible_tries
    return node


def runtime_values(task: Tree.Task, inputs: dict[str, Any], ev: Evaluator) -> dict[str, Value.Base]:
    """The task's runtime section, evaluated over its inputs and body declarations (only if it reads them)."""
    idents: set[str] = set()
    for expr in task.runtime.values():
        idents |= _expr_idents(expr)
    env: WDL.Env.Bindings[Value.Base] = WDL.Env.Bindings()
    if idents:
        from WDL.runtime.task import _task_decl_eval_order

        env = coerce_inputs(task, ev.bindings(inputs))
        for decl in _task_decl_eval_order(list(task.inputs or []) + list(task.postinputs)):
            if not env.has_binding(decl.name) or (
                isinstance(env[decl.name], Value.Null) and decl.expr and not decl.type.optional
            ):
                env = env.bind(decl.name, ev.decl(decl, env))
    return {key: ev.eval(expr, env) for key, expr in task.runtime.items()}


def gathered_names(section: Tree.WorkflowSection) -> list[str]:
    """The names a section binds outside itself: its declarations' and its calls' outputs, at any depth."""
    names: list[str] = []
    for gather in section.gathers.values():
        leaf = gather.final_referee
        if isinstance(leaf, Tree.Decl):
            names.append(leaf.name)
        else:
            names.extend(b.name for b in leaf.effective_outputs)
    return names


def _expr_idents(expr: WDL.Expr.Base) -> set[str]:
    return node_idents(expr)


def _ordered(section_nodes: Iterable[Tree.WorkflowNode]) -> list[Tree.WorkflowNode]:
    """The section's nodes in dependency order (WDL allows using a name before its declaration)."""
    nodes = list(section_nodes)
    owner: dict[str, int] = {}
    for i, n in enumerate(nodes):
        owner[n.workflow_node_id] = i
        if isinstance(n, Tree.WorkflowSection):
            for g in n.gathers.values():
                owner[g.workflow_node_id] = i
    deps = [{owner[d] for d in all_dependencies(n) if d in owner and owner[d] != i} for i, n in enumerate(nodes)]
    done: list[bool] = [False] * len(nodes)
    out: list[Tree.WorkflowNode] = []

    def visit(i: int, stack: set[int]) -> None:
        if done[i]:
            return
        stack.add(i)
        for d in sorted(deps[i]):
            if d not in stack:
                visit(d, stack)
        stack.discard(i)
        done[i] = True
        out.append(nodes[i])

    for i in range(len(nodes)):
        visit(i, set())
    return out
