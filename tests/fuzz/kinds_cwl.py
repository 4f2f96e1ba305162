"""CWL documents and job files, mutated: ``toil-cwl-runner`` must refuse the bad ones in one line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.core import Case
from tests.fuzz.mutate import draw_cases, dump, mutate_bytes, mutate_tree
from tests.fuzz.seeds import Seed, cwl_seeds

VERSIONS = ("v1.0", "v1.1", "v1.2")
CLASSES = ("CommandLineTool", "Workflow", "ExpressionTool", "Operation")
CWL_KEYS = [
    "cwlVersion",
    "class",
    "id",
    "inputs",
    "outputs",
    "steps",
    "run",
    "in",
    "out",
    "baseCommand",
    "arguments",
    "requirements",
    "hints",
    "stdin",
    "stdout",
    "stderr",
    "successCodes",
    "type",
    "default",
    "inputBinding",
    "outputBinding",
    "glob",
    "valueFrom",
    "position",
    "prefix",
    "secondaryFiles",
    "format",
    "doc",
    "label",
    "scatter",
    "scatterMethod",
    "when",
    "source",
    "outputSource",
    "linkMerge",
    "pickValue",
    "expression",
    "$namespaces",
    "$schemas",
    "$graph",
    "$import",
    "$include",
    "s:author",
    "loadContents",
    "streamable",
    "items",
    "fields",
    "symbols",
    "name",
    "outputEval",
    "shellQuote",
    "separate",
    "itemSeparator",
    "cwltool:Secrets",
    "http://example.com/x",
    "arv:UsePreemptible",
]
CWL_VALUES: list[Any] = [
    *VERSIONS,
    "v1.3",
    "draft-3",
    "v1.2.0-dev5",
    "CommandLineTool",
    "Workflow",
    "ExpressionTool",
    "Operation",
    "Bogus",
    "string",
    "int",
    "long",
    "float",
    "File",
    "Directory",
    "File[]",
    "string?",
    "stdout",
    "Any",
    "null",
    {"type": "array", "items": "strin"},
    {"type": "record", "fields": {"a": "int", "a ": "Fil"}},
    {"type": "enum", "symbols": []},
    {"type": "array"},
    "$(inputs)",
    "$(1+)",
    "${return inputs.x.y.z}",
    "$(runtime.outdir + '/../../x')",
    {"$import": "nonexistent.yml"},
    {"$include": "/etc/hostname"},
    {"$include": "nonexistent.txt"},
    {"class": "DockerRequirement", "dockerPull": "x"},
    {"class": "InlineJavascriptRequirement", "expressionLib": ["function(){"]},
    {"class": "ResourceRequirement", "coresMin": -1, "ramMin": "$(1e30)"},
    {"class": "ResourceRequirement", "coresMin": 10**30, "ramMax": -5, "outdirMin": "x"},
    {"class": "EnvVarRequirement", "envDef": {"A": "$(x"}},
    {"class": "InitialWorkDirRequirement", "listing": [{"entryname": "../../x", "entry": "y"}]},
    {"class": "InitialWorkDirRequirement", "listing": [{"entryname": "/etc/toil-fuzz-x", "entry": "y"}]},
    {"class": "SchemaDefRequirement", "types": [{"name": "T", "type": "record", "fields": "x"}]},
    {"class": "ToolTimeLimit", "timelimit": -1},
    {"class": "WorkReuse", "enableReuse": "maybe"},
    {"class": "NoSuchRequirement"},
    {"class": "SubworkflowFeatureRequirement"},
    {"run": "nonexistent.cwl", "in": {}, "out": []},
    {"run": "#nowhere", "in": [], "out": ["x"]},
    {"run": {"class": "Workflow", "inputs": [], "outputs": [], "steps": []}, "in": {}, "out": []},
    {"source": "nowhere/out"},
    {"outputSource": ["a/b", 5]},
    {"glob": "../../../etc/hostname"},
    {"glob": "/etc/hostname"},
    {"glob": "$(1/0)"},
    [{"id": "dup"}, {"id": "dup"}],
]
JOB_VALUES: list[Any] = [
    {"class": "File", "path": "/nonexistent"},
    {"class": "File", "location": "nope://x"},
    {"class": "File"},
    {"class": "Directory", "path": "."},
    {"class": "File", "path": "."},
    {"class": "File", "path": "/dev/null"},
    {"class": "File", "contents": "x"},
    {"class": "File", "contents": "x", "basename": "../../escape.txt"},
    {"class": "File", "location": "file:///etc/hostname", "secondaryFiles": [{"class": "File", "path": "/nope"}]},
    {"class": "Bogus"},
    {"class": "File", "path": "job.json/x"},
    {"class": "File", "path": "x", "basename": "a/b"},
    {"class": "Directory", "listing": [{"class": "File", "basename": "../up", "contents": "z"}]},
    {"class": "File", "location": "http://127.0.0.1:9/x"},
    {"class": "File", "location": "_:anon"},
    {"cwl:requirements": [{"class": "ResourceRequirement", "coresMin": -3}]},
    [],
    {},
    None,
    "x" * 100,
]
BASE_ARGS = ["--no-container", "--outdir", "out", "--jobStore", "js"]


def _valid_header(doc: Any, seed: Seed) -> bool:
    """False only when a mutation certainly broke the document's version or class."""
    if not isinstance(seed.doc, dict) or "cwlVersion" not in seed.doc or "class" not in seed.doc:
        return True
    return isinstance(doc, dict) and doc.get("cwlVersion") in VERSIONS and doc.get("class") in CLASSES


def _job_files(seed: Seed, job: Any, as_json: bool) -> tuple[dict[str, bytes], list[str]]:
    if job is None:
        return {}, []
    return {"job.json": dump(job, as_json)}, ["job.json"]


@st.composite
def cwl_doc_case(draw: st.DrawFn) -> Case:
    seed = draw(st.sampled_from(cwl_seeds()))
    as_json = draw(st.booleans())
    doc, notes = draw(mutate_tree(seed.doc, CWL_KEYS, CWL_VALUES))
    data = dump(doc, as_json)
    expect = "any" if _valid_header(doc, seed) else "fail"
    if draw(st.integers(0, 3)) == 0:
        data, byte_note = draw(mutate_bytes(data))
        notes.append(byte_note)
        expect = "fail" if not data.strip() else "any"
    files, job_args = _job_files(seed, seed.inputs, True)
    files[seed.name] = data
    flags = draw(st.sampled_from([[], ["--quiet"], ["--strict"], ["--non-strict"], ["--validate"]]))
    return Case(
        "cwl_doc",
        "cwl",
        [*BASE_ARGS, *flags, seed.name, *job_args],
        files,
        seed.links,
        expect=expect,
        note=f"{seed.name}: " + "; ".join(notes),
        real_ok=seed.real_ok,
    )


@st.composite
def cwl_job_case(draw: st.DrawFn) -> Case:
    seed = draw(st.sampled_from([s for s in cwl_seeds() if isinstance(s.inputs, dict) and s.inputs]))
    files = {seed.name: seed.text.encode()}
    how = draw(st.sampled_from(["tree", "tree", "bytes", "flags", "junk"]))
    if how == "flags":
        args, note = draw(_input_flags(seed))
        return Case(
            "cwl_job", "cwl", [*BASE_ARGS, seed.name, *args], files, seed.links, note=note, real_ok=seed.real_ok
        )
    if how == "junk":
        job: Any = draw(st.sampled_from(JOB_VALUES[-6:] + [[1, 2], "a: [", 5]))
        data, note = dump(job, draw(st.booleans())), f"the whole job order is {job!r:.60}"
    else:
        job, notes = draw(mutate_tree(seed.inputs, list(seed.inputs) + ["cwl:requirements", "id"], JOB_VALUES))
        data, note = dump(job, draw(st.booleans())), "; ".join(notes)
        if how == "bytes":
            data, byte_note = draw(mutate_bytes(data))
            note += "; " + byte_note
    files["job.json"] = data
    return Case(
        "cwl_job",
        "cwl",
        [*BASE_ARGS, seed.name, "job.json"],
        files,
        seed.links,
        note=f"{seed.name}: {note}",
        real_ok=seed.real_ok,
    )


@st.composite
def _input_flags(draw: st.DrawFn, seed: Seed) -> tuple[list[str], str]:
    """Tool inputs given as flags (cwltool's '--name value'), with bad values and unknown names."""
    names = list(seed.inputs) + ["no-such-input", "outdir", "msg", "", "-"]
    args: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names))
        args.append(f"--{name}")
        if draw(st.integers(0, 4)):
            value = draw(
                st.sampled_from(
                    [
                        "",
                        "x",
                        "-1",
                        "1e400",
                        "true",
                        "/nonexistent",
                        "--",
                        "a=b",
                        "ü",
                        json.dumps({"class": "File", "path": "/nope"}),
                        "x" * 3000,
                    ]
                )
            )
            args.append(value)
    return args, "inputs as flags: " + " ".join(args)[:200]


def generate_docs(count: int, seed: int) -> list[Case]:
    return draw_cases(cwl_doc_case(), count, seed, Case.key)


def generate_jobs(count: int, seed: int) -> list[Case]:
    return draw_cases(cwl_job_case(), count, seed, Case.key)


KINDS = {"cwl_doc": generate_docs, "cwl_job": generate_jobs}
