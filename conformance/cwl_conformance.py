#!/usr/bin/env python3
"""Run the CWL v1.2 conformance suite with cwltest against toil-cwl-runner.

The suite is data kept outside the repository (../shared/conformance/cwl-v1.2
beside the clone, or $CWL_CONFORMANCE_DIR). This driver runs cwltest from the
suite's directory, writes a JUnit report, prints ``N passed, M failed, K
skipped`` with counts per tag, and exits non-zero when a test fails that is
not in conformance/cwl-v1.2-known-failures.txt.

    python conformance/cwl_conformance.py [--tags required] [-j 2] [--timeout 300] [--store aws]
        [--batch-system kubernetes]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SUITE = os.path.join(os.path.dirname(REPO), "shared", "conformance", "cwl-v1.2")
KNOWN_FAILURES = os.path.join(HERE, "cwl-v1.2-known-failures.txt")
LIST_ENTRY = re.compile(r"^- \[([^\]]+)\]")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--suite",
        default=os.environ.get("CWL_CONFORMANCE_DIR", DEFAULT_SUITE),
        help="the cwl-v1.2 suite directory (holds conformance_tests.yaml)",
    )
    p.add_argument("--tool", default=None, help="the runner (default: toil-cwl-runner beside this Python)")
    p.add_argument("--tags", default=None, help="only tests with these tags (comma separated), e.g. required")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--junit-xml", default=os.path.join(REPO, "build", "conformance", "cwl-v1.2-junit.xml"))
    p.add_argument("-s", "--select", default=None, help="only these test names (comma separated)")
    p.add_argument("--store", choices=["file", "aws"], default="file", help="aws: a job store per test on moto_server")
    p.add_argument(
        "--batch-system",
        default=None,
        metavar="NAME",
        help="the runner's --batchSystem (kubernetes: pods of the appliance on infra/k8s-up.sh's cluster; needs "
        "--store aws); its known failures are listed in cwl-v1.2-known-failures-NAME.txt",
    )
    p.add_argument("runner_args", nargs="*", help="extra arguments for the runner (after --)")
    return p.parse_args(argv)


def read_known_failures(path: str) -> dict[str, str]:
    """Test name -> reason, from lines 'name  reason' (# comments allowed)."""
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    name, _, reason = line.partition(" ")
                    known[name] = reason.strip()
    return known


def read_badges(badgedir: str) -> dict[str, dict[str, list[str]]]:
    """Per tag: the names of passed, failed and unsupported tests, from cwltest's badge pages."""
    tags: dict[str, dict[str, list[str]]] = {}
    for name in sorted(os.listdir(badgedir)):
        if not name.endswith(".md"):
            continue
        section = ""
        lists: dict[str, list[str]] = {"passed": [], "failed": [], "unsupported": []}
        with open(os.path.join(badgedir, name)) as f:
            for line in f:
                if line.startswith("## List of "):
                    section = line.split()[3]
                match = LIST_ENTRY.match(line)
                if match and section in lists:
                    lists[section].append(match.group(1))
        tags[name[:-3]] = lists
    return tags


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    suite = os.path.abspath(args.suite)
    if not os.path.exists(os.path.join(suite, "conformance_tests.yaml")):
        sys.stderr.write(
            f"cwl_conformance: error: no conformance_tests.yaml in {suite} (set --suite or $CWL_CONFORMANCE_DIR)\n"
        )
        return 2
    bindir = os.path.dirname(sys.executable)
    tool = args.tool or shutil.which("toil-cwl-runner", path=bindir) or "toil-cwl-runner"
    if args.store == "aws":
        from object_store import use_aws_store

        use_aws_store()
        os.environ["TOIL_CONFORMANCE_RUNNER"] = tool
        tool = os.path.join(HERE, "runner_on_aws.py")
    from object_store import use_batch_system

    batch_args = use_batch_system(args.batch_system, args.store)
    cwltest = shutil.which("cwltest", path=bindir) or "cwltest"
    os.makedirs(os.path.dirname(os.path.abspath(args.junit_xml)), exist_ok=True)
    badgedir = os.path.join(tempfile.mkdtemp(prefix="cwl-badges-"), "badges")
    command = [
        cwltest,
        "--test",
        "conformance_tests.yaml",
        "--tool",
        tool,
        "-j",
        str(args.jobs),
        "--timeout",
        str(args.timeout),
        "--junit-xml",
        os.path.abspath(args.junit_xml),
        "--badgedir",
        badgedir,
    ]
    if args.tags:
        command += ["--tags", args.tags]
    if args.select:
        command += ["-s", args.select]
    # Containers on: the runner picks the engine that works here (docker, then podman; infra/podman-up.sh
    # starts Podman and its Docker API and builds the images the suite names). Without one, the tests
    # that require a container fail.
    command += ["--", "--clean", "always", *batch_args, *args.runner_args]
    print("+ (cd %s && %s)" % (suite, " ".join(command)), flush=True)
    started = time.time()
    subprocess.run(command, cwd=suite)
    wall = time.time() - started
    known = read_known_failures(KNOWN_FAILURES)
    if args.store == "aws":
        known.update(read_known_failures(KNOWN_FAILURES.replace(".txt", "-aws.txt")))
    if args.batch_system:
        known.update(read_known_failures(KNOWN_FAILURES.replace(".txt", f"-{args.batch_system.lower()}.txt")))
    return report(read_badges(badgedir), known, wall, args.junit_xml)


def report(tags: dict[str, dict[str, list[str]]], known: dict[str, str], wall: float, junit: str) -> int:
    every = tags.get("all", {"passed": [], "failed": [], "unsupported": []})
    passed, failed, unsupported = every["passed"], every["failed"], every["unsupported"]
    print("\nPer tag (passed/failed/unsupported):")
    for tag, lists in sorted(tags.items()):
        if tag != "all":
            print(f"  {tag:<28} {len(lists['passed']):>4} {len(lists['failed']):>4} {len(lists['unsupported']):>4}")
    print(f"\nJUnit report: {junit}")
    print(f"Wall time: {wall:.0f} s")
    unexpected = [t for t in failed + unsupported if t not in known]
    fixed = [t for t in known if t in passed]
    for name in failed:
        print(f"FAILED {name}" + (f"  (known: {known[name]})" if name in known else ""))
    for name in unsupported:
        print(f"UNSUPPORTED {name}" + (f"  (known: {known[name]})" if name in known else ""))
    for name in fixed:
        print(f"NOW PASSES {name}: remove it from the known-failures list")
    print(f"{len(passed)} passed, {len(failed)} failed, {len(unsupported)} skipped (unsupported)")
    if unexpected:
        print(f"{len(unexpected)} failure(s) not in {os.path.relpath(KNOWN_FAILURES, REPO)}: {', '.join(unexpected)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
