"""WDL documents (mutated, or generated from a rough grammar) and input JSON: ``toil-wdl-runner`` must refuse
the bad ones in one line naming the file, line and column."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.core import Case
from tests.fuzz.mutate import JUNK_STRINGS, draw_cases, dump, mutate_bytes, mutate_tree
from tests.fuzz.seeds import wdl_seeds

TOKEN = re.compile(
    r'\s+|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<<<|>>>|'
    r"~\{|\$\{|==|!=|<=|>=|&&|\|\||.",
    re.S,
)
KEYWORDS = [
    "task",
    "workflow",
    "call",
    "scatter",
    "if",
    "then",
    "else",
    "input",
    "output",
    "command",
    "runtime",
    "meta",
    "parameter_meta",
    "struct",
    "import",
    "version",
    "as",
    "in",
    "after",
    "alias",
    "object",
    "true",
    "false",
    "None",
    "hints",
    "requirements",
    "env",
]
TYPES = [
    "Int",
    "String",
    "File",
    "Boolean",
    "Float",
    "Array[Int]",
    "Array[File]+",
    "Map[String,Int]",
    "Pair[Int,String]",
    "Object",
    "Directory",
    "Int?",
    "Array[Array[String]]",
    "Foo",
    "Array[]",
    "Map[Int]",
    "Array[String]?",
    "Sample",
]
EXPRS = [
    "1",
    '"s"',
    "true",
    "x",
    "y",
    "length(x)",
    "x + 1",
    'x + "a"',
    "[1, 2]",
    '{"a": 1}',
    '(1, "b")',
    "read_int(stdout())",
    "select_first([])",
    'if x then 1 else "a"',
    "x[0]",
    "x.left",
    "1/0",
    "defined(z)",
    "range(-1)",
    'glob("*")',
    'sub(x, "(", "")',
    "None",
    "z.y.w",
    "f(x)",
    "2147483648 * 2147483648",
    "9223372036854775807 + 1",
    "-x",
    "!1",
    "x == y",
    "[]",
    "{}",
    'read_lines("/nonexistent")',
    'write_lines(["a"])',
    "stdout()",
    'size(x, "QB")',
    "object { a: 1 }",
    "t.out",
    "nowhere.out",
    '"~{x"',
    '"${x}"',
    "floor(1.5e400)",
    "1e400",
    "[x][5]",
    "as_map([(1, 2), (1, 3)])",
]
NAMES = ["t", "u", "wf", "x", "y", "z", "out", "t", "input", "Int", "call", "a", "b"]
VERSIONS = [
    "version 1.0",
    "version 1.1",
    "version 1.2",
    "version draft-3",
    "version 2.0",
    "version development",
    "",
    "version",
    "version 1.1 extra",
]
RUNTIME = [
    "cpu: {e}",
    'memory: "{e}"',
    "memory: {e}",
    'disks: "local-disk {e} SSD"',
    'docker: "ubuntu"',
    "gpu: {e}",
    "preemptible: {e}",
    "maxRetries: {e}",
    "returnCodes: {e}",
    "time_minutes: {e}",
]
SIZES = ["-1", "0", "1e30", "abc", "1 GiB", "9999999999 TiB", "2 XB", "x", '"4G"', "1.5"]


@st.composite
def token_mutation(draw: st.DrawFn, text: str) -> tuple[str, str]:
    tokens = TOKEN.findall(text)
    words = [i for i, t in enumerate(tokens) if t.strip()]
    if not words:
        return text + draw(st.sampled_from(["}", "{", "task"])), "append junk"
    i = draw(st.sampled_from(words))
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "keyword", "type", "literal", "name", "insert"]))
    note = f"{op} token {i} {tokens[i]!r:.30}"
    if op == "delete":
        tokens[i] = ""
    elif op == "duplicate":
        tokens[i] = tokens[i] + " " + tokens[i]
    elif op == "swap":
        j = draw(st.sampled_from(words))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    elif op == "keyword":
        tokens[i] = draw(st.sampled_from(KEYWORDS))
    elif op == "type":
        tokens[i] = draw(st.sampled_from(TYPES))
    elif op == "literal":
        tokens[i] = draw(st.sampled_from(EXPRS + [json.dumps(s) for s in JUNK_STRINGS[:40]]))
    elif op == "name":
        tokens[i] = draw(st.sampled_from(NAMES + [t for t in tokens if t[:1].isalpha()][:50]))
    else:
        tokens[i] += draw(
            st.sampled_from(
                ["{", "}", "(", ")", "=", "~{", "${", ",", ":", "[", "]", "<<<", ">>>", ".", "?", "+", "\n", "#", '"']
            )
        )
    return "".join(tokens), note


@st.composite
def _decl(draw: st.DrawFn, with_value: bool) -> str:
    text = f"{draw(st.sampled_from(TYPES))} {draw(st.sampled_from(NAMES))}"
    if with_value or draw(st.booleans()):
        text += f" = {draw(st.sampled_from(EXPRS))}"
    return text


@st.composite
def _task(draw: st.DrawFn) -> str:
    inputs = "\n    ".join(draw(st.lists(_decl(False), max_size=3)))
    outputs = "\n    ".join(draw(st.lists(_decl(True), max_size=3)))
    runtime = "\n    ".join(
        r.format(e=draw(st.sampled_from(SIZES + EXPRS[:6])))
        for r in draw(st.lists(st.sampled_from(RUNTIME), max_size=3))
    )
    command = draw(
        st.sampled_from(
            ["echo ~{x}", "echo hi", "true", "exit 3", "printf '%s' ~{y}", "echo ${x}", "echo ~{x", "cat ~{x}", ""]
        )
    )
    open_, close = draw(st.sampled_from([("<<<", ">>>"), ("{", "}"), ("<<<", "}")]))
    return (
        f"task {draw(st.sampled_from(NAMES))} {{\n  input {{\n    {inputs}\n  }}\n  command {open_}\n    {command}\n"
        f"  {close}\n  output {{\n    {outputs}\n  }}\n  runtime {{\n    {runtime}\n  }}\n}}\n"
    )


@st.composite
def _workflow(draw: st.DrawFn) -> str:
    body = []
    for _ in range(draw(st.integers(0, 4))):
        what = draw(st.sampled_from(["call", "decl", "scatter", "if"]))
        call = (
            f"call {draw(st.sampled_from(NAMES))}"
            + draw(st.sampled_from(["", " as a", " as t"]))
            + draw(st.sampled_from(["", " { input: x = " + draw(st.sampled_from(EXPRS)) + " }", " { x = 1 }"]))
        )
        if what == "call":
            body.append(call)
        elif what == "decl":
            body.append(draw(_decl(True)))
        elif what == "scatter":
            body.append(f"scatter (i in {draw(st.sampled_from(EXPRS))}) {{\n    {call}\n  }}")
        else:
            body.append(f"if ({draw(st.sampled_from(EXPRS))}) {{\n    {call}\n  }}")
    outputs = "\n    ".join(draw(st.lists(_decl(True), max_size=2)))
    inputs = "\n    ".join(draw(st.lists(_decl(False), max_size=2)))
    joined = "\n  ".join(body)
    return (
        f"workflow {draw(st.sampled_from(NAMES))} {{\n  input {{\n    {inputs}\n  }}\n  {joined}\n"
        f"  output {{\n    {outputs}\n  }}\n}}\n"
    )


@st.composite
def generated_doc(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(VERSIONS))]
    if draw(st.booleans()):
        parts.append("struct Sample {\n  " + draw(_decl(False)) + "\n}\n")
    parts += draw(st.lists(_task(), max_size=3))
    if draw(st.booleans()):
        parts.append(draw(_workflow()))
    return "\n".join(parts)


def _base_args(seed_name: str) -> list[str]:
    return [seed_name, "-o", "out", "--jobStore", "js", "--container", "none"]


@st.composite
def wdl_doc_case(draw: st.DrawFn) -> Case:
    seeds = wdl_seeds()
    how = draw(st.sampled_from(["tokens", "tokens", "tokens", "version", "bytes", "grammar"]))
    if how == "grammar":
        text = draw(generated_doc())
        files = {"gen.wdl": text.encode()}
        if draw(st.booleans()):
            files["inputs.json"] = b"{}"
        args = _base_args("gen.wdl") + (["-i", "inputs.json"] if "inputs.json" in files else [])
        return Case("wdl_doc", "wdl", args, files, note="generated:\n" + text)
    seed = draw(st.sampled_from(seeds))
    text, notes, expect = seed.text, [], "any"
    if how == "version":
        version = draw(st.sampled_from(VERSIONS[2:]))
        text = re.sub(r"(?m)^version\s+\S+", version, text, count=1) if "version" in text else version + "\n" + text
        notes.append(f"version line -> {version!r}")
    elif how in ("tokens", "bytes"):
        for _ in range(draw(st.integers(1, 3))):
            text, note = draw(token_mutation(text))
            notes.append(note)
    data = text.encode()
    if how == "bytes":
        data, note = draw(mutate_bytes(data))
        notes.append(note)
    if not data.strip():
        expect = "fail"
    files = {seed.name: data, "inputs.json": json.dumps(seed.inputs or {}).encode()}
    return Case(
        "wdl_doc",
        "wdl",
        [*_base_args(seed.name), "-i", "inputs.json"],
        files,
        seed.links,
        expect=expect,
        note=f"{seed.name}: " + "; ".join(notes),
        real_ok=seed.real_ok,
    )


INPUT_VALUES: list[Any] = [
    "/nonexistent",
    "/dev/null",
    ".",
    "inputs.json/x",
    "",
    "x" * 2000,
    -1,
    2**64,
    1e400,
    None,
    [],
    {},
    [[[]]],
    {"left": 1},
    {"left": 1, "right": "x"},
    True,
    "1",
    "true",
    {"class": "File", "path": "/nope"},
    "file:///nonexistent",
    "http://127.0.0.1:9/x",
]


@st.composite
def wdl_inputs_case(draw: st.DrawFn) -> Case:
    seed = draw(st.sampled_from([s for s in wdl_seeds() if isinstance(s.inputs, dict)]))
    files = {seed.name: seed.text.encode()}
    keys = list(seed.inputs) + [k.split(".", 1)[-1] for k in seed.inputs] + ["nowhere.x", "", ".", "a.b.c.d"]
    inputs, notes = draw(mutate_tree(seed.inputs, keys, INPUT_VALUES))
    data = dump(inputs, True)
    how = draw(st.sampled_from(["file", "file", "-i file", "-i inline", "bytes", "both", "missing", "dir"]))
    args = [seed.name, "-o", "out", "--jobStore", "js", "--container", "none"]
    if how == "bytes":
        data, note = draw(mutate_bytes(data))
        notes.append(note)
    files["inputs.json"] = data
    if how in ("file", "bytes"):
        args.append("inputs.json")
    elif how == "-i file":
        args += ["-i", "inputs.json"]
    elif how == "-i inline":
        args += ["-i", data.decode("utf-8", "replace")]
    elif how == "both":
        args += ["inputs.json", "-i", "inputs.json"]
    elif how == "missing":
        args.append("no-such-inputs.json")
    else:
        args.append(".")
    return Case(
        "wdl_inputs",
        "wdl",
        args,
        files,
        seed.links,
        expect="fail" if how in ("both", "missing", "dir") else "any",
        note=f"{seed.name} ({how}): " + "; ".join(notes),
        real_ok=seed.real_ok,
    )


def generate_docs(count: int, seed: int) -> list[Case]:
    return draw_cases(wdl_doc_case(), count, seed, Case.key)


def generate_inputs(count: int, seed: int) -> list[Case]:
    return draw_cases(wdl_inputs_case(), count, seed, Case.key)


KINDS = {"wdl_doc": generate_docs, "wdl_inputs": generate_inputs}
