#!/usr/bin/env python3
"""Run the WDL conformance suite against toil-wdl-runner and compare outputs as the suite defines.

    python conformance/wdl_conformance.py [--versions 1.0,1.1] [--id ID,...] [-j N] [--store aws]
        [--batch-system kubernetes]

The suite is data outside the repository: ``../shared/conformance/wdl``
beside the repository root, or ``$WDL_CONFORMANCE_DIR``. Each test runs once
per WDL version it lists (draft-2, 1.0, 1.1 here); a document written in
another version is converted in a scratch copy of its test directory, as the
suite's README says. Prints ``N passed, M failed, K skipped`` per version;
exits non-zero if a test fails that conformance/wdl-known-failures.txt does
not list.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = ["draft-2", "1.0", "1.1"]
KNOWN_FAILURES = os.path.join(REPO, "conformance", "wdl-known-failures.txt")


def suite_dir() -> str:
    return os.path.abspath(
        os.environ.get("WDL_CONFORMANCE_DIR") or os.path.join(REPO, "..", "shared", "conformance", "wdl")
    )


def read_known_failures(path: str = KNOWN_FAILURES) -> dict[tuple[str, str], str]:
    """(test id, version or '*') -> reason, from lines 'ID VERSION reason...' ('#' starts a comment)."""
    known: dict[tuple[str, str], str] = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    parts = line.split(None, 2)
                    known[(parts[0], parts[1])] = parts[2] if len(parts) > 2 else ""
    return known


# ---------------------------------------------------------------- version conversion
def file_version(text: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"version\s+(\S+)", s)
        return m.group(1) if m else "draft-2"
    return "draft-2"


def convert(text: str, target: str) -> str:
    """The document rewritten for another WDL version, per the suite's conventions."""
    if file_version(text) == target:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    replaced = False
    for line in lines:
        if not replaced and re.match(r"\s*version\s+\S+", line):
            replaced = True
            if target != "draft-2":
                out.append(f"version {target}\n")
            continue
        out.append(line)
    if not replaced and target != "draft-2":
        out.insert(0, f"version {target}\n")
    text = "".join(out)
    if target in ("draft-2", "1.0"):
        text = _in_runtime(text, lambda body: re.sub(r"(^|\n)(\s*)container\s*:", r"\1\2docker:", body))
    if target == "draft-2":
        text = _unwrap_inputs(text)
        text = text.replace("~{", "${")
    return text


def _blocks(text: str, keyword: str) -> list[tuple[int, int, int]]:
    """(start of keyword, index of '{', index of matching '}') for each 'keyword {' block."""
    found = []
    for m in re.finditer(r"(?m)^\s*" + keyword + r"\s*\{", text):
        open_at = m.end() - 1
        depth = 0
        for i in range(open_at, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    found.append((m.start(), open_at, i))
                    break
    return found


def _in_runtime(text: str, fn: Any) -> str:
    for _start, open_at, close in reversed(_blocks(text, "runtime")):
        text = text[: open_at + 1] + fn(text[open_at + 1 : close]) + text[close:]
    return text


def _unwrap_inputs(text: str) -> str:
    for start, open_at, close in reversed(_blocks(text, "input")):
        text = text[:start] + "\n" + text[open_at + 1 : close] + "\n" + text[close + 1 :]
    return text


# ---------------------------------------------------------------- comparing outputs
def _split_type(t: str) -> tuple[str, list[str], bool]:
    """(name, parameters, optional) of a type string like 'Map[Int, Array[File]]?'."""
    t = t.strip()
    optional = t.endswith("?")
    t = t.rstrip("?")
    if "[" not in t:
        return t, [], optional
    name, inner = t.split("[", 1)
    inner = inner[: inner.rindex("]")]
    params, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            params.append(cur.strip())
            cur = ""
            continue
        depth += c == "["
        depth -= c == "]"
        cur += c
    params.append(cur.strip())
    return name.strip(), params, optional


def compare(ty: Any, expected: Any, actual: Any) -> str | None:
    """None if ``actual`` matches ``expected`` for type ``ty``, else why not."""
    if isinstance(ty, dict):  # a struct: member -> type
        if not isinstance(actual, dict):
            return f"expected a struct, got {actual!r}"
        for k, t in ty.items():
            why = compare(t, expected.get(k), actual.get(k))
            if why:
                return f".{k}: {why}"
        return None
    name, params, _ = _split_type(str(ty))
    if expected is None or actual is None:
        return None if expected is None and actual is None else f"expected {expected!r}, got {actual!r}"
    if name == "File":
        return _compare_file(expected, actual)
    if name == "Directory":
        return _compare_listing(expected.get("listing", []), actual)
    if name == "Array":
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"expected {len(expected)} items, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            why = compare(params[0], e, a)
            if why:
                return f"[{i}]: {why}"
        return None
    if name == "Map":
        if not isinstance(actual, dict) or set(map(str, expected)) != set(map(str, actual)):
            return f"expected keys {sorted(map(str, expected))}, got {actual!r}"
        for k, e in expected.items():
            why = compare(params[1], e, actual[str(k)])
            if why:
                return f"[{k}]: {why}"
        return None
    if name == "Pair":
        if not isinstance(actual, dict):
            return f"expected a pair, got {actual!r}"
        return compare(params[0], expected["left"], actual.get("left")) or compare(
            params[1], expected["right"], actual.get("right")
        )
    if name == "Float":
        return (
            None
            if isinstance(actual, (int, float)) and abs(float(actual) - float(expected)) < 1e-9
            else f"expected {expected!r}, got {actual!r}"
        )
    if name in ("Int", "Boolean", "String"):
        return (
            None if actual == expected and type(actual) is type(expected) else f"expected {expected!r}, got {actual!r}"
        )
    return None if actual == expected else f"expected {expected!r}, got {actual!r}"


def _compare_file(expected: dict[str, Any], path: Any) -> str | None:
    if not isinstance(path, str) or not os.path.isfile(path):
        return f"output file {path!r} does not exist"
    with open(path, "rb") as f:
        data = f.read()
    if "md5sum" in expected:
        got = hashlib.md5(data).hexdigest()
        return None if got == expected["md5sum"] else f"md5 {got} != {expected['md5sum']} for {path}"
    if "regex" in expected:
        text = data.decode("utf-8", "replace")
        return None if re.search(expected["regex"], text) else f"{text[:200]!r} does not match {expected['regex']!r}"
    return None


def _listing(path: str) -> list[dict[str, Any]]:
    out = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            out.append({"type": "Directory", "basename": name, "listing": _listing(full)})
        else:
            out.append({"type": "File", "basename": name})
    return out


def _norm(listing: list[dict[str, Any]]) -> list[Any]:
    return sorted((i["type"], i["basename"], _norm(i.get("listing", []))) for i in listing)


def _compare_listing(expected: list[dict[str, Any]], path: Any) -> str | None:
    if not isinstance(path, str) or not os.path.isdir(path):
        return f"output directory {path!r} does not exist"
    got = _listing(path)
    return None if _norm(got) == _norm(expected) else f"listing {got} != {expected}"


# ---------------------------------------------------------------- running
def _aws_locator() -> str:
    from object_store import aws_locator  # beside this script (run as a script, its directory is on sys.path)

    return aws_locator("wdl")


def run_test(
    test: dict[str, Any],
    version: str,
    suite: str,
    runner: list[str],
    scratch: str,
    timeout: float,
    on_aws: bool = False,
) -> tuple[bool, str, float]:
    """(passed, why not, seconds) for one test at one version (``on_aws``: its job store on the S3 stand-in)."""
    inputs = test["inputs"]
    work = tempfile.mkdtemp(prefix=f"{test['id']}-{version}-", dir=scratch)
    test_dir = os.path.join(work, "src")
    shutil.copytree(os.path.join(suite, inputs["dir"]), test_dir, symlinks=True)
    for root, _, names in os.walk(test_dir):
        for name in names:
            if name.endswith(".wdl"):
                path = os.path.join(root, name)
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(convert(text, version))
    wdl = os.path.join(test_dir, inputs["wdl"])
    cmd = [*runner, wdl]
    if inputs.get("json"):
        cmd.append(os.path.join(suite, inputs["dir"], inputs["json"]))
    outfile = os.path.join(work, "outputs.json")
    cmd += [
        "-o",
        os.path.join(work, "out"),
        "-m",
        outfile,
        "--outputDialect",
        "miniwdl",
        "--jobStore",
        _aws_locator() if on_aws else os.path.join(work, "jobstore"),
        "--logLevel",
        "WARNING",
        "--retryCount",
        "0",
    ]
    started = time.time()
    try:
        proc = subprocess.run(cmd, cwd=suite, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g} s", time.time() - started
    took = time.time() - started
    tail = (proc.stderr.strip().splitlines() or [""])[-1][:300]
    if test.get("fail"):
        return (proc.returncode != 0, "" if proc.returncode else "the run should have failed but exited 0", took)
    codes = test.get("return_code")
    if codes is not None:
        codes = codes if isinstance(codes, list) else [codes]
        if "*" not in codes and proc.returncode not in codes:
            return False, f"exit code {proc.returncode} not in {codes}: {tail}", took
    elif proc.returncode != 0:
        return False, f"exit code {proc.returncode}: {tail}", took
    try:
        with open(outfile) as f:
            got = json.load(f)["outputs"]
    except (OSError, ValueError, KeyError) as e:
        return False, f"no outputs: {e}", took
    excluded = set(test.get("exclude_output") or [])
    for name, spec in (test.get("outputs") or {}).items():
        if name in excluded or name.split(".", 1)[-1] in excluded:
            continue
        if name not in got:
            return False, f"missing output {name} (got {sorted(got)})", took
        why = compare(spec["type"], spec["value"], got[name])
        if why:
            return False, f"{name}: {why}", took
    shutil.rmtree(work, ignore_errors=True)
    return True, "", took


CONTAINER_LINE = re.compile(r"^\s*(docker|container)\s*:", re.M)


def names_container(suite: str, test: dict[str, Any]) -> bool:
    """Whether a test's documents name a container image (runtime docker/container)."""
    root = os.path.join(suite, test["inputs"]["dir"])
    for parent, _, names in os.walk(root):
        for name in names:
            if name.endswith(".wdl"):
                with open(os.path.join(parent, name), errors="replace") as f:
                    if CONTAINER_LINE.search(f.read()):
                        return True
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated WDL versions to run")
    p.add_argument("--id", default=None, help="comma-separated test ids to run (default: all)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="tests run at once")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--runner", default=None, help="the runner command (default: toil-wdl-runner beside this Python)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory of each test")
    p.add_argument("-v", "--verbose", action="store_true", help="print every test's result")
    p.add_argument("--store", choices=["file", "aws"], default="file", help="aws: a job store per test on moto_server")
    p.add_argument(
        "--batch-system",
        default=None,
        metavar="NAME",
        help="the runner's --batchSystem (kubernetes: pods of the appliance on infra/k8s-up.sh's cluster; needs "
        "--store aws); its known failures are listed in wdl-known-failures-NAME.txt",
    )
    args = p.parse_args(argv)
    if args.store == "aws":
        from object_store import use_aws_store

        use_aws_store()
    from object_store import use_batch_system

    batch_args = use_batch_system(args.batch_system, args.store)
    suite = suite_dir()
    if not os.path.exists(os.path.join(suite, "conformance.yaml")):
        print(f"no WDL conformance suite at {suite}: set WDL_CONFORMANCE_DIR", file=sys.stderr)
        return 2
    with open(os.path.join(suite, "conformance.yaml")) as f:
        tests = yaml.safe_load(f)
    runner = args.runner.split() if args.runner else [os.path.join(os.path.dirname(sys.executable), "toil-wdl-runner")]
    runner += batch_args
    versions = [v for v in args.versions.split(",") if v]
    ids = set(args.id.split(",")) if args.id else None
    known = read_known_failures()
    if args.batch_system:
        known.update(read_known_failures(KNOWN_FAILURES.replace(".txt", f"-{args.batch_system.lower()}.txt")))
    scratch = tempfile.mkdtemp(prefix="wdl-conformance-")
    jobs, counts = [], {v: {"passed": 0, "failed": 0, "skipped": 0} for v in versions}
    for test in tests:
        if ids is not None and test["id"] not in ids:
            continue
        for v in versions:
            if v not in test.get("versions", []):
                continue
            if test.get("priority") == "ignore":
                counts[v]["skipped"] += 1
                continue
            jobs.append((test, v))
    started = time.time()
    unexpected, fixed = [], []
    in_containers = {"passed": 0, "failed": 0}
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {
            pool.submit(run_test, t, v, suite, runner, scratch, args.timeout, args.store == "aws"): (t, v)
            for t, v in jobs
        }
        for fut in concurrent.futures.as_completed(futures):
            test, v = futures[fut]
            ok, why, took = fut.result()
            key = (test["id"], v)
            listed = key in known or (test["id"], "*") in known
            counts[v]["passed" if ok else "failed"] += 1
            if names_container(suite, test):
                in_containers["passed" if ok else "failed"] += 1
            if not ok and not listed:
                unexpected.append(f"{test['id']} {v}: {why}")
            if ok and listed:
                fixed.append(f"{test['id']} {v}")
            if args.verbose or (not ok and not listed):
                print(f"{'PASS' if ok else 'FAIL'} {test['id']} [{v}] {took:.1f}s {why}", flush=True)
    for v in versions:
        c = counts[v]
        print(f"WDL {v}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    print(f"runs of tests naming a container image: {in_containers['passed']} passed, {in_containers['failed']} failed")
    print(f"wall time {time.time() - started:.0f} s for {len(jobs)} runs")
    if fixed:
        print("Listed as known failures but passed (remove them from the list): " + ", ".join(fixed))
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    if unexpected:
        print(f"{len(unexpected)} unexpected failure(s):\n  " + "\n  ".join(unexpected))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
