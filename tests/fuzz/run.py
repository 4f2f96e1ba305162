"""The bad-input fuzz suite: N generated cases per kind, a table of what came of them.

    python -m tests.fuzz.run [--cases N] [--kinds a,b] [--seed S] [--runs R] [--case I[-J]] [--keep] [--verbose]

Kinds: cwl_doc, cwl_job, wdl_doc, wdl_inputs, python_graph, cli_args, toil_subcommand, jobstore_locator.
Every case must end in a non-zero exit whose last line of standard error is
'prog: error: message' (no traceback, no usage dump), or be accepted (zero exit)
when its input is in fact valid (a case generated to be certainly invalid must
not be accepted); and nothing may be written outside its own directory (the
sandbox refuses and reports it). "tracebacks" counts Python tracebacks and
cwltool's "Unhandled error" reports (a crash, though printed in one line).
Cases run in this process up to the point where their workflow would start;
"zero exits" are the ones accepted there, and "ran for real" how many of them
also ran to the end in a subprocess. The exit status is non-zero when any case
broke a rule; the first offenders are printed with how to reproduce them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.core import Case, Generator, Outcome, Verdict, judge, last_line

COLUMNS = (
    "kind",
    "cases",
    "non-zero exits",
    "one-line messages",
    "tracebacks",
    "zero exits",
    "ran for real",
    "written outside",
)


def kinds() -> dict[str, Generator]:
    import importlib

    found: dict[str, Generator] = {}
    for module in ("kinds_cwl", "kinds_wdl", "kinds_python", "kinds_cli"):
        found.update(importlib.import_module(f"tests.fuzz.{module}").KINDS)
    return found


@dataclass
class Tally:
    kind: str
    cases: int = 0
    nonzero: int = 0
    one_line: int = 0
    tracebacks: int = 0
    zero: int = 0
    ran: int = 0
    outside: int = 0
    seconds: float = 0.0
    offenders: dict[str, list[tuple[int, Case, Outcome, Verdict]]] = field(default_factory=dict)
    offences: int = 0
    signatures: dict[str, int] = field(default_factory=dict)

    def add(self, index: int, case: Case, out: Outcome, v: Verdict) -> None:
        self.cases += 1
        self.nonzero += v.nonzero
        self.one_line += v.one_line
        self.tracebacks += v.traceback
        self.zero += v.zero
        self.ran += out.ran
        self.outside += v.outside
        if v.problems:
            self.offences += 1
            sig = f"{v.problems[0].split(':')[0]}: {signature(out.stderr)}"
            self.signatures[sig] = self.signatures.get(sig, 0) + 1
            first = self.offenders.setdefault(v.problems[0].split(":")[0], [])
            if len(first) < 5:
                first.append((index, case, out, v))

    def kept(self, index: int) -> bool:
        return any(index == i for found in self.offenders.values() for i, *_ in found)

    def row(self) -> list[str]:
        return [
            self.kind,
            str(self.cases),
            str(self.nonzero),
            str(self.one_line),
            str(self.tracebacks),
            str(self.zero),
            str(self.ran),
            str(self.outside),
        ]


def signature(stderr: str) -> str:
    """What tells one failure from another: the exception line of a traceback, else the last line."""
    lines = [x for x in stderr.splitlines() if x.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last)"):
            where = [x.strip() for x in lines[i:] if x.strip().startswith("File ")]
            return f"{lines[-1][:160]} (at {where[-1][5:120] if where else '?'})"
    return lines[-1][:200] if lines else "(nothing on stderr)"


def table(tallies: list[Tally]) -> str:
    rows = [list(COLUMNS)] + [t.row() for t in tallies]
    total = Tally("total")
    for t in tallies:
        for name in ("cases", "nonzero", "one_line", "tracebacks", "zero", "ran", "outside"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
    rows.append(total.row())
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]

    def fmt(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"

    lines = [fmt(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(lines + [fmt(r) for r in rows[1:]])


def run_kind(
    name: str, gen: Generator, args: argparse.Namespace, run_root: Path, cache: Path, fixtures: dict[str, Path]
) -> Tally:
    from tests.fuzz import execute

    tally = Tally(name)
    started = time.time()
    cases = gen(args.cases, args.seed)
    gen_seconds = time.time() - started
    chosen = range(len(cases)) if args.case is None else range(args.case[0], min(args.case[1], len(cases) - 1) + 1)
    for index in chosen:
        case = cases[index]
        case_dir = run_root / "cases" / name / str(index)
        execute.prepare(case, case_dir, fixtures)
        out = execute.run_in_process(case, case_dir, cache, [str(run_root / "tmp")], limit=args.limit)
        # Accepted cases run for real, spread over the run (hypothesis draws its simplest cases first).
        spread = index >= tally.ran * len(cases) // max(1, args.runs)
        if out.code is None and tally.ran < args.runs and spread and case.safe_to_run():
            execute.prepare(case, case_dir, fixtures)
            out = execute.run_for_real(case, case_dir, cache, [], timeout=args.timeout)
        verdict = judge(case, out, str(case_dir))
        tally.add(index, case, out, verdict)
        if args.case is not None and args.case[0] == args.case[1]:
            _show_one(index, case, out, verdict, case_dir)
        elif args.verbose:
            print(
                f"{name}#{index} exit {out.code}{' ran' if out.ran else ''}: {last_line(out.stderr)[:200]}"
                f"{'' if out.code else '   <- ' + case.note[:200]}",
                file=sys.stderr,
                flush=True,
            )
        if not args.keep and not tally.kept(index):
            shutil.rmtree(case_dir, ignore_errors=True)
    tally.seconds = time.time() - started
    print(
        f"  {name}: {tally.cases} cases in {tally.seconds:.0f} s (generated in {gen_seconds:.1f} s), "
        f"{tally.offences} broke a rule",
        file=sys.stderr,
        flush=True,
    )
    return tally


def _show_one(index: int, case: Case, out: Outcome, v: Verdict, case_dir: Path) -> None:
    print(
        f"case {case.kind}#{index}: {case.note}\nargv: {case.argv}\ndirectory: {case_dir}\n"
        f"exit: {out.code} ({'accepted at the gate' if out.code is None else 'exited'})"
        f"{' ran for real' if out.ran else ''}\nproblems: {v.problems or 'none'}\n"
        f"--- stdout\n{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-6000:]}",
        file=sys.stderr,
    )


def report_offenders(tallies: list[Tally], args: argparse.Namespace, run_root: Path) -> None:
    for t in tallies:
        for index, case, out, v in [x for found in t.offenders.values() for x in found[: args.show]]:
            tail = "\n    ".join(out.stderr.strip().splitlines()[-8:])
            files = ", ".join(f"{k} ({len(d)} bytes)" for k, d in case.files.items())
            print(
                f"\n[{t.kind} #{index}] {'; '.join(v.problems)}\n  input: {case.note[:300]}\n"
                f"  argv: {' '.join(case.argv)[:400]}\n  files: {files or '-'}"
                f"{'  fixture: ' + case.fixture if case.fixture else ''}\n"
                f"  exit: {out.code}{' (ran for real)' if out.ran else ''}\n  stderr tail:\n    {tail}\n"
                f"  reproduce: python -m tests.fuzz.run --kinds {t.kind} --cases {args.cases} --seed "
                f"{args.seed} --case {index} --keep   (files kept in {run_root / 'cases' / t.kind / str(index)})"
            )


def watched_places() -> list[Path]:
    """Places a stray write would land in: the user's home and caches, the temp directory."""
    home = Path(os.path.expanduser("~"))
    return [home, home / ".cache", home / ".cache" / "toil", home / ".config", Path(tempfile.gettempdir())]


def listings(places: list[Path]) -> dict[str, set[str]]:
    out = {}
    for p in places:
        try:
            out[str(p)] = set(os.listdir(p))
        except OSError:
            out[str(p)] = set()
    return out


def _index_range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def import_front_ends() -> None:
    """Import what cases run now, once, so that paths computed at import time (cwltool's default temporary
    directory prefix) are the run's, not the first case's."""
    import importlib

    for module in (
        "cwltool.main",
        "WDL",
        "toil.cli.cwl_main",
        "toil.cli.wdl_main",
        "toil.cli.toil_main",
        "toil.common",
        "toil.job",
    ):
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=1000, help="cases per kind (default 1000)")
    p.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same cases")
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        help="accepted cases per kind also run for real in a subprocess (default: 1 per 150 cases, "
        "at least 2, at most 6)",
    )
    p.add_argument(
        "--case",
        type=_index_range,
        default=None,
        help="run only this case (by index) and show it in full, or cases I-J",
    )
    p.add_argument("--keep", action="store_true", help="keep every case's directory")
    p.add_argument("--verbose", action="store_true", help="print each case's exit and last line of stderr")
    p.add_argument("--show", type=int, default=3, help="offenders shown per kind")
    p.add_argument("--limit", type=int, default=60, help="seconds an in-process case may take")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds a real run may take")
    p.add_argument("--workdir", default=None, help="where the run's directory is made (default: the temp dir)")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = max(2, min(6, args.cases // 150))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    available = kinds()
    wanted = [k for k in args.kinds.split(",") if k] or list(available)
    unknown = [k for k in wanted if k not in available]
    if unknown:
        print(f"unknown kind(s) {', '.join(unknown)}; kinds: {', '.join(available)}", file=sys.stderr)
        return 2
    places = watched_places()
    before = listings(places)
    run_root = Path(tempfile.mkdtemp(prefix="toil-fuzz-", dir=args.workdir)).resolve()
    cache = run_root / "cache"
    cache.mkdir()
    (run_root / "tmp").mkdir()
    os.environ["TMPDIR"] = str(run_root / "tmp")  # temp paths computed at import time land in the run
    tempfile.tempdir = None
    import_front_ends()
    started = time.time()
    from tests.fuzz.fixtures import build_fixtures

    fixtures = (
        build_fixtures(run_root / "fixtures", cache) if {"toil_subcommand", "jobstore_locator"} & set(wanted) else {}
    )
    tallies = [run_kind(k, available[k], args, run_root, cache, fixtures) for k in wanted]
    wall = time.time() - started
    print(table(tallies))
    print(f"\n{sum(t.cases for t in tallies)} cases in {wall:.0f} s (seed {args.seed}); run directory {run_root}")
    report_offenders(tallies, args, run_root)
    distinct = [(n, t.kind, sig) for t in tallies for sig, n in t.signatures.items()]
    if distinct:
        print(f"\n{len(distinct)} distinct problem(s):")
        for n, kind, sig in sorted(distinct, key=lambda x: (x[1], -x[0])):
            print(f"  {kind} x{n}: {sig}")
    appeared = {p: sorted(after - before.get(p, set()) - {run_root.name}) for p, after in listings(places).items()}
    appeared = {p: names for p, names in appeared.items() if names}
    for p, names in appeared.items():
        print(f"note: new in {p} during the run (this run's or another process's): {', '.join(names[:10])}")
    bad = sum(t.offences for t in tallies)
    if not args.keep and not bad:
        shutil.rmtree(run_root, ignore_errors=True)
    print(f"\n{'FAILED' if bad else 'OK'}: {bad} case(s) broke a rule")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
