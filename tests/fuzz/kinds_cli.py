"""Command lines: the runners' options with bad values, the ``toil`` subcommands, job store locators.

Option names come from the real parsers (Toil's option table, cwltool's parser, the WDL runner's), so a
new option is fuzzed without changing this file.
"""

from __future__ import annotations

import functools
import json
import socket
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.core import Case
from tests.fuzz.mutate import JUNK_STRINGS, draw_cases, dump, junk_value, mutate_bytes

# Options left out: they print Python tracebacks on purpose (--debug) or reach the network or a container.
EXCLUDED = {
    "--debug",
    "--js-console",
    "--beta-conda-dependencies",
    "--beta-use-biocontainers",
    "--beta-dependency-resolvers-configuration",
    "--beta-dependencies-directory",
    "--enable-ga4gh-tool-registry",
    "--add-ga4gh-tool-registry",
    "--generate-help-preview",
    "--force-docker-pull",
    "--enable-pull",
    "--singularity",
    "--podman",
    "--udocker",
    "--user-space-docker-cmd",
    "--mpi-config-file",
}
VALUES = [
    "",
    "-1",
    "0",
    "1",
    "abc",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "2G",
    "10XB",
    "-5G",
    "1.5",
    "99999999999999999999",
    "/nonexistent",
    "/nonexistent/dir/x",
    "/dev/null",
    "/etc/hostname/x",
    ".",
    "..",
    "~",
    "x" * 3000,
    "ü€",
    "a,b",
    ",",
    "=",
    "--",
    "-",
    "true",
    "false",
    "maybe",
    "INFO",
    "info",
    "Debug",
    "OFF",
    "always",
    "never",
    "single_machine",
    "local",
    "bogus_batch",
    "gpu",
    "cuda:2",
    "a=b",
    "A=",
    "=B",
    "1,2,x",
    "None",
    "null",
    "{}",
    "[]",
    "'",
    '"',
    "$(x)",
    "\x7f",
    "\u202e",
    "0x10",
    "1_000",
    " 5",
    "5 ",
]
BASES = {
    "cwl": ["--no-container", "--outdir", "out", "--jobStore", "js"],
    "wdl": ["-o", "out", "--jobStore", "js", "--container", "none"],
}
LOCATORS = [
    "aws:garbage",
    "aws:",
    "aws:us-west-2:",
    "google:x",
    "google:",
    "s3://bucket/x",
    "http://127.0.0.1:9/x",
    "ftp:x",
    "file:",
    "file://",
    "file:relative",
    "file:///nonexistent/parent/js",
    ":",
    "::",
    "C:\\x",
    " ",
    "",
    "\x00",
    "js\x00x",
    "script.py/js",
    "/etc/hostname/js",
    "/dev/null",
    "/dev/null/js",
    "/proc/1/js",
    "/proc",
    "/nonexistent/parent/js",
    "js/",
    "./js",
    "js",
    "file:js",
    "~",
    "~/js",
    "file:~/js",
    ".",
    "..",
    "home",
    "loop",
    "a" * 5000,
    "/".join(["d"] * 2000),
    "ü€😀/js",
    "new\nline",
    "store",
    "file:store",
    "store/meta.json",
    "tmp",
    "-js",
    "--js",
    "js:",
    "x:y:z",
    "file:/dev/null",
    "/",
    "//",
    "/nonexistent",
    "store/..",
]


@st.composite
def locator(draw: st.DrawFn) -> str:
    """A listed locator, or one assembled from a scheme and path parts (relative ones stay in the case)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(LOCATORS))
    scheme = draw(st.sampled_from(["", "", "file:", "file://", "aws:", "google:", "FILE:", "file:file:"]))
    parts = draw(
        st.lists(
            st.sampled_from(
                [
                    "a",
                    "..",
                    ".",
                    "nonexistent",
                    "script.py",
                    "store",
                    "loop",
                    "ü",
                    "x" * 255,
                    "",
                    "home",
                    "tmp",
                    "js",
                    "meta.json",
                    "*",
                    "?",
                    " ",
                ]
            ),
            min_size=1,
            max_size=6,
        )
    )
    lead = draw(st.sampled_from(["", "", "./", "/nonexistent/", "/dev/null/", "/proc/self/"]))
    return scheme + lead + "/".join(parts)


@functools.lru_cache(maxsize=None)
def option_table(entry: str) -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    """(flag, takes a value, choices) for every option of an entry point's parser."""
    if entry == "cwl":
        from toil.cli.cwl_main import _parser

        parser = _parser()
    elif entry == "wdl":
        from toil.cli.wdl_main import parser as wdl_parser

        parser = wdl_parser()
    else:
        from toil.job import Job

        parser = Job.Runner.getDefaultArgumentParser()
    out = []
    for action in parser._actions:
        for flag in action.option_strings:
            if flag in EXCLUDED or flag in ("-h", "--help"):
                continue
            takes = action.nargs != 0
            out.append((flag, takes, tuple(str(c) for c in (action.choices or ()))))
    return tuple(out)


@st.composite
def option_args(draw: st.DrawFn, entry: str) -> list[str]:
    """A few options of the entry point, most with a bad value, some misspelled or cut short."""
    table = option_table(entry)
    args: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        flag, takes, choices = draw(st.sampled_from(table))
        how = draw(st.sampled_from(["value", "value", "value", "equals", "typo", "bare", "choice"]))
        if how == "typo":
            flag = draw(
                st.sampled_from(
                    [flag.lower(), flag.upper(), flag[:-1], flag + "x", "-" + flag.lstrip("-"), "--no-such-option"]
                )
            )
        value = draw(st.sampled_from(VALUES + [c.swapcase() for c in choices] + list(choices)))
        if how == "equals":
            args.append(f"{flag}={value}")
        elif how == "bare" or not takes:
            args.append(flag)
        else:
            args += [flag, value]
    return args


@st.composite
def config_file(draw: st.DrawFn) -> bytes:
    """A --config YAML file with option names (real and not) set to junk."""
    table = [f.lstrip("-") for f, _, _ in option_table("python") if f.startswith("--")]
    keys = st.one_of(st.sampled_from(table), st.sampled_from(JUNK_STRINGS[:30]))
    doc = draw(st.one_of(st.dictionaries(keys, junk_value(), max_size=4), junk_value()))
    data = dump(doc, False)
    if draw(st.integers(0, 3)) == 0:
        data, _ = draw(mutate_bytes(data))
    return data


PY_SCRIPT = b"""from toil.common import Toil
from toil.job import Job


def f(x):
    return x + 1


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as toil:
        print("RESULT", toil.restart() if options.restart else toil.start(Job.wrapFn(f, 1)))
"""


def _target(entry: str) -> tuple[list[str], list[str], dict[str, bytes], dict[str, str]]:
    """(arguments before the options, after them, files, links) of a valid run of the entry point."""
    from tests.fuzz.seeds import CWL_DOCS, WDL_DOCS

    if entry == "cwl":
        return BASES["cwl"], ["echo.cwl", "--msg", "hi"], {}, {"echo.cwl": str(CWL_DOCS / "echo.cwl")}
    if entry == "wdl":
        return (
            ["task_only.wdl", "-i", '{"greet.who": "x"}', *BASES["wdl"]],
            [],
            {},
            {"task_only.wdl": str(WDL_DOCS / "task_only.wdl")},
        )
    return ["script.py", "js"], [], {"script.py": PY_SCRIPT}, {}


@st.composite
def cli_case(draw: st.DrawFn) -> Case:
    entry = draw(st.sampled_from(["cwl", "wdl", "python"]))
    before, after, files, links = _target(entry)
    opts = draw(option_args(entry))
    if draw(st.integers(0, 5)) == 0:
        files["cfg.yaml"] = draw(config_file())
        opts += ["--config", "cfg.yaml"]
    argv = [*before, *opts, *after] if draw(st.booleans()) or entry == "python" else [*before, *after, *opts]
    if entry == "python":
        argv = [argv[0], *argv[1:]]
    expect = "fail" if any(o.startswith("--no-such-option") for o in opts) else "any"
    return Case(
        "cli_args",
        entry,
        argv,
        files,
        links,
        expect=expect,
        note=" ".join(opts)[:300],
        real_ok=not any("slurm" in o.lower() or "grid" in o.lower() for o in opts),
    )


SUBCOMMANDS = {
    "status": [
        "--failed",
        "--failedJobs",
        "--printLogs",
        "--printDot",
        "--printStatus",
        "--failIfNotComplete",
        "--logLevel",
    ],
    "stats": [
        "--raw",
        "--pretty",
        "--sortCategory",
        "--sortField",
        "--sortReverse",
        "--outputFile",
        "--html",
        "--logLevel",
    ],
    "clean": ["--logLevel"],
    "kill": ["--force", "--timeout", "--logLevel"],
    "debug-job": ["--printJobInfo", "--logLevel"],
    "config": [],
}
HOST = socket.gethostname()
# What a damaged (or hand-edited) leader record or status file could say; pids of this host's init, of the
# caller's process group (0) and of every process (-1) must never be signalled.
CORRUPT_BYTES = [
    b"{}",
    b"[]",
    b"null",
    b'{"pid": 1}',
    b'{"host": "x", "pid": "1"}',
    b"\xff",
    *(json.dumps({"host": HOST, "pid": p, "started": 0}).encode() for p in (1, 0, -1, "abc", 2**70)),
    json.dumps({"state": "running", "time": "x", "counts": []}).encode(),
    b'{"issued_jobs": 5}',
]
STORE_FILES = [
    "toil.json",
    "leader.json",
    "status.json",
    "state/journal-*",
    "state/*snap*",
    "returns/*",
    "payloads/*",
    "results/*",
    "stats/*",
    "logs/*",
    "shared/*",
    "files/*",
    "workers.lock",
    "leader.lock",
    "state",
    "payloads",
    "returns",
    "shared",
]


@st.composite
def corruption(draw: st.DrawFn) -> list[tuple[str, str, int, bytes]]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        out.append(
            (
                draw(st.sampled_from(STORE_FILES)),
                draw(st.sampled_from(["truncate", "flip", "insert", "delete", "replace"])),
                draw(st.integers(0, 5000)),
                draw(st.one_of(st.binary(max_size=16), st.sampled_from(CORRUPT_BYTES))),
            )
        )
    return out


@st.composite
def toil_case(draw: st.DrawFn) -> Case:
    sub = draw(st.sampled_from(list(SUBCOMMANDS) + ["stat", "", "-h", "--version", "destroy", "STATUS"]))
    fixture = draw(st.sampled_from(["finished", "failed", "cwl"]))
    store = draw(st.one_of(st.sampled_from(["store", "store", "store", "file:store"]), locator()))
    args = [sub] if sub else []
    flags = SUBCOMMANDS.get(sub, ["--logLevel"]) + ["--no-such-flag"]
    if sub != "config":
        args.append(store)
    else:
        args.append(draw(st.sampled_from(["cfg.yaml", "/nonexistent/dir/cfg.yaml", "store", ".", "/dev/null", ""])))
    if sub == "debug-job":
        args.append(draw(st.sampled_from(["leaf", "boom", "the root", "add", "x", "", "main", "echo", "0", "-1"])))
    for _ in range(draw(st.integers(0, 3))):
        flag = draw(st.sampled_from(flags))
        args.append(flag)
        if flag in ("--sortCategory", "--sortField", "--outputFile", "--html", "--timeout", "--logLevel"):
            args.append(draw(st.sampled_from(VALUES + ["time", "alpha", "med", "report.html", "out.txt", "0.5"])))
    if sub == "kill" and "--timeout" not in args:
        args += ["--timeout", "2"]
    corrupt = draw(corruption()) if draw(st.booleans()) else []
    if draw(st.integers(0, 7)) == 0:  # a leader record naming a process of this host that is no leader
        corrupt.append(("leader.json", "replace", 0, draw(st.sampled_from(CORRUPT_BYTES[6:11]))))
    expect = (
        "fail"
        if sub in ("stat", "", "destroy", "STATUS") or ("--no-such-flag" in args and sub not in ("-h", "--version"))
        else "any"
    )
    return Case(
        "toil_subcommand",
        "toil",
        args,
        fixture=fixture,
        corrupt=corrupt,
        expect=expect,
        note=f"store {fixture}, corrupted: {[c[:2] for c in corrupt]}",
        real_ok=False,
    )


def _locator_files() -> dict[str, bytes]:
    return {"script.py": PY_SCRIPT, "home/.keep": b""}


@st.composite
def locator_case(draw: st.DrawFn) -> Case:
    from tests.fuzz.seeds import CWL_DOCS, WDL_DOCS

    loc = draw(locator())
    entry = draw(st.sampled_from(["python", "python", "cwl", "wdl", "toil"]))
    restart = ["--restart"] if draw(st.integers(0, 3)) == 0 else []
    links = {"loop": "loop"}
    if entry == "python":
        argv = ["script.py", loc, "--logLevel", "WARNING", *restart]
    elif entry == "cwl":
        argv = ["--no-container", "--outdir", "out", "--jobStore", loc, *restart, "echo.cwl", "--msg", "x"]
        links["echo.cwl"] = str(CWL_DOCS / "echo.cwl")
    elif entry == "wdl":
        argv = ["task_only.wdl", "-i", '{"greet.who": "x"}', "-o", "out", "--jobStore", loc, *restart]
        links["task_only.wdl"] = str(WDL_DOCS / "task_only.wdl")
    else:
        argv = [draw(st.sampled_from(["status", "stats", "clean", "kill", "debug-job"])), loc]
        argv += ["leaf"] if argv[0] == "debug-job" else ["--timeout", "2"] if argv[0] == "kill" else []
    fixture = "finished" if "store" in loc else None
    certain = loc in ("aws:garbage", "aws:", "google:x", "ftp:x", ":", " ", "/dev/null", "/dev/null/js")
    return Case(
        "jobstore_locator",
        entry,
        argv,
        _locator_files(),
        links,
        fixture=fixture,
        expect="fail" if certain or (restart and "store" not in loc) else "any",
        note=f"locator {loc!r:.80} via {entry}",
        real_ok=entry != "toil",
    )


def generate_cli(count: int, seed: int) -> list[Case]:
    for entry in ("cwl", "wdl", "python"):
        option_table(entry)  # import the parsers outside hypothesis (cwltool's import draws random numbers)
    return draw_cases(cli_case(), count, seed, Case.key)


def generate_toil(count: int, seed: int) -> list[Case]:
    return draw_cases(toil_case(), count, seed, Case.key)


def generate_locators(count: int, seed: int) -> list[Case]:
    return draw_cases(locator_case(), count, seed, Case.key)


KINDS: dict[str, Any] = {
    "cli_args": generate_cli,
    "toil_subcommand": generate_toil,
    "jobstore_locator": generate_locators,
}
