"""Valid documents to mutate: the repository's own, and the conformance suites' when they are there."""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CWL_DOCS = REPO / "tests" / "integration" / "cwl_docs"
WDL_DOCS = REPO / "tests" / "integration" / "wdl"
CONFORMANCE = Path(os.environ.get("TOIL_FUZZ_CONFORMANCE", REPO.parent / "shared" / "conformance"))
# A seed whose real run could take long, needs the network or a container, or is not self-contained.
NO_REAL_RUN = re.compile(
    r"sleep|TimeLimit|NetworkAccess|DockerRequirement|dockerPull|docker:|container:|"
    r"InplaceUpdate|http://|https://|\$\(\s*runtime\.(tmpdir|outdir)\s*\)\.\.|secondaryFiles"
)


@dataclass
class Seed:
    """A valid document and, when it takes inputs, a job order / inputs object that goes with it."""

    name: str  # file name the mutated copy is written as
    text: str
    doc: Any
    inputs: Any = None  # the job order (CWL) or inputs object (WDL), parsed
    links: dict[str, str] = field(default_factory=dict)  # siblings it may name, linked read-only
    real_ok: bool = True


def _siblings(directory: Path, *texts: str) -> dict[str, str]:
    """Files next to a document that it (or its inputs) name: linked into the case's directory."""
    out: dict[str, str] = {}
    entries = sorted(os.listdir(directory))
    pending = list(texts)
    while pending:
        text = pending.pop()
        for entry in entries:
            path = directory / entry
            if entry not in out and entry in text and path.exists():
                out[entry] = str(path)
                if path.is_file() and path.stat().st_size < 100_000:  # what it names in turn
                    pending.append(path.read_text(errors="replace"))
    return out


REPO_CWL = {
    "echo.cwl": {"msg": "hello"},
    "fan.cwl": {"words": ["alpha", "keep", "gamma"]},
    "shout.cwl": {"word": "x"},
    "upper.cwl": None,
    "fails.cwl": {},
    "docker.cwl": {},
}


@functools.lru_cache(maxsize=None)
def cwl_seeds() -> tuple[Seed, ...]:
    seeds = []
    for name, job in REPO_CWL.items():
        text = (CWL_DOCS / name).read_text()
        seeds.append(
            Seed(name, text, yaml.safe_load(text), job, _siblings(CWL_DOCS, text), real_ok=name not in ("docker.cwl",))
        )
    seeds.extend(_conformance_cwl())
    return tuple(seeds)


def _conformance_cwl() -> list[Seed]:
    root = CONFORMANCE / "cwl-v1.2"
    index = root / "conformance_tests.yaml"
    if not index.exists():
        return []
    seeds, seen = [], set()
    for test in yaml.safe_load(index.read_text()) or []:
        tool = str(test.get("tool", ""))
        if not tool.endswith(".cwl") or tool in seen or test.get("should_fail"):
            continue
        path = root / tool
        if not path.is_file() or path.stat().st_size > 20000:
            continue
        seen.add(tool)
        text = path.read_text(errors="replace")
        try:
            doc = yaml.safe_load(text)
            job = _load_job(root / str(test["job"])) if test.get("job") else None
        except (yaml.YAMLError, OSError, ValueError):
            continue
        job_text = json.dumps(job) if job is not None else ""
        seeds.append(
            Seed(
                path.name,
                text,
                doc,
                job,
                _siblings(path.parent, text, job_text),
                real_ok=not NO_REAL_RUN.search(text + job_text),
            )
        )
    return seeds


def _load_job(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


REPO_WDL = {
    "task_only.wdl": {"greet.who": "world"},
    "constructs.wdl": "constructs.json",
    "overrides.wdl": {},
    "sub.wdl": {"count_sample.sample": {"name": "a", "reads": 2}},
    "broken.wdl": {"broken.x": 1},
}


@functools.lru_cache(maxsize=None)
def wdl_seeds() -> tuple[Seed, ...]:
    seeds = []
    for name, inputs in REPO_WDL.items():
        text = (WDL_DOCS / name).read_text()
        if isinstance(inputs, str):
            inputs = json.loads((WDL_DOCS / inputs).read_text())
        seeds.append(Seed(name, text, None, inputs, _siblings(WDL_DOCS, text, json.dumps(inputs))))
    seeds.extend(_conformance_wdl())
    return tuple(seeds)


def _conformance_wdl() -> list[Seed]:
    root = CONFORMANCE / "wdl"
    index = root / "conformance.yaml"
    if not index.exists():
        return []
    seeds = []
    for test in yaml.safe_load(index.read_text()) or []:
        inp = test.get("inputs") or {}
        if test.get("priority") == "ignore" or test.get("dependencies") or not inp.get("wdl"):
            continue
        directory = root / str(inp.get("dir", ""))
        path = directory / str(inp["wdl"])
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        inputs: Any = {}
        if inp.get("json") and (directory / str(inp["json"])).is_file():
            try:
                inputs = json.loads((directory / str(inp["json"])).read_text())
            except ValueError:
                continue
        links = _siblings(directory, text)
        links["tests"] = str(root / "tests")  # input files are named relative to the suite's root
        links["run.py"] = str(root / "run.py")
        seeds.append(
            Seed(path.name, text, None, inputs, links, real_ok=not (test.get("fail") or NO_REAL_RUN.search(text)))
        )
    return seeds
