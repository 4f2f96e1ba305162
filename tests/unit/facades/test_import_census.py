"""Every name that real Toil workflows import from ``toil`` imports here, from a fresh interpreter.

The list (toil_import_census.tsv) was made by bench/import_census.py from the projects it names; the second
list (toil_public_names.tsv) holds names of Toil 9.6's public modules that user code reaches beyond that
census. A failure names the projects it breaks.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Names in the census that Toil 9.6 itself does not have either, each with why it is not provided here.
NOT_PROVIDED = {
    ("toil.jobStores.azureJobStore", "-"): "gone from Toil 9.6 too; the azure: job store is a later issue",
}

PROBE = r"""
import importlib, json, sys
rows = json.loads(sys.stdin.read())
failures = []
for module, name in rows:
    try:
        if name == "-":
            importlib.import_module(module)
        else:                      # 'from M import A' as Python runs it (A may be a submodule), then .B.C
            head, *rest = name.split(".")
            scope = {}
            exec(f"from {module} import {head} as found", scope)
            obj = scope["found"]
            for part in rest:
                obj = getattr(obj, part)
    except Exception as e:
        failures.append([module, name, f"{type(e).__name__}: {e}"])
print(json.dumps(failures))
"""


def rows(filename: str) -> list[dict[str, str]]:
    with open(os.path.join(HERE, filename), encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def failures_of(table: list[dict[str, str]]) -> list[list[str]]:
    names = [[r["module"], r["name"]] for r in table if (r["module"], r["name"]) not in NOT_PROVIDED]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], input=json.dumps(names), capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(proc.stdout))


def report(table: list[dict[str, str]], failures: list[list[str]]) -> str:
    by_name = {(r["module"], r["name"]): r["projects"] for r in table}
    return "\n".join(f"from {m} import {n}: {why} (breaks {by_name[(m, n)]})" for m, n, why in failures)


def test_every_census_name_imports_from_a_fresh_interpreter() -> None:
    table = rows("toil_import_census.tsv")
    assert len(table) >= 40, "the census list lost rows"
    failures = failures_of(table)
    assert not failures, report(table, failures)


def test_every_public_name_of_toil_96_that_user_code_reaches_imports() -> None:
    table = rows("toil_public_names.tsv")
    failures = failures_of(table)
    assert not failures, report(table, failures)


def test_the_probe_reports_a_missing_name() -> None:
    table = [
        {"module": "toil.lib.misc", "name": "NoSuchName", "projects": "nobody"},
        {"module": "toil.no_such_module", "name": "-", "projects": "nobody"},
    ]
    failures = failures_of(table)
    assert [f[:2] for f in failures] == [["toil.lib.misc", "NoSuchName"], ["toil.no_such_module", "-"]]
