#!/usr/bin/env python3
"""Census of the names that real Toil-based projects import from ``toil``.

Standalone, stdlib only.  Typical use::

    python3 bench/import_census.py --projects /tmp/census/src \
        --write-census tests/unit/facades/toil_import_census.tsv \
        --check before=.venv/bin/python:/tmp/before/src \
        --check after=.venv/bin/python --check toil-9.6=bench/toil-venv/bin/python \
        --json /tmp/census/figures.json

``--projects DIR`` holds one directory per project, named ``owner+name``
(e.g. ``vgteam+toil-vg``), each an extracted source tree.  Every ``.py`` file
is parsed with :mod:`ast` (files that fail to parse under Python 3, e.g.
Python 2 code, are skipped and counted) and every absolute
``from toil[.x] import N`` / ``import toil[.x]`` statement is collected,
wherever it sits (module level, inside functions, inside ``try:``).
Relative imports are not toil imports.  For DataBiosphere/toil itself only the
user-style scripts listed in ``TOIL_SELF_INCLUDE`` count, not the library.

``--check [LABEL=]PYTHON[:PYTHONPATH]`` (repeatable; LABEL, default the
whole spec, names the column) runs one fresh subprocess for the census names
and one per project for its files.  Their PYTHONPATH is unset, or set to the
one given (e.g. an older checkout's ``src`` with the same venv).  Measures:

* per file: a file "imports here" if every toil import statement in it
  succeeds (its other imports are not tried); only files with toil imports.
* transitive: the same, AND every project module that the file imports does
  so by this same rule (one missing name in a shared module sinks them all);
  over the files with a toil import, directly or through project modules
  they import (see ``project_deps`` and ``transitive``).

The statements are run with ``exec`` so Python's own import semantics
(submodule fallback, ``*``) apply.  With ``--ignore-guarded``, a failing
import in ``try: ... except ImportError:`` (a fallback such as ``try: from
toil.fileStores import FileID / except ImportError: from toil.fileStore
import FileID``), toil's or a project module's, does not spoil its file.

Not seen by this census: attribute-style uses (``import toil`` then
``toil.common.Toil(...)``), subclassing/monkey-patching of Toil classes.
"""

import argparse
import ast
import fnmatch
import json
import os
import subprocess
import sys
import tempfile

# Paths (fnmatch patterns, relative to the repository root) that count for
# the DataBiosphere/toil repository itself: example/tutorial workflows only.
TOIL_SELF = "DataBiosphere/toil"
TOIL_SELF_INCLUDE = [
    "src/toil/test/sort/sort.py",
    "src/toil/test/docs/scripts/*.py",
    "docs/*.py",
]
TOIL_SELF_EXCLUDE = ["docs/conf.py", "docs/vendor/*"]
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".tox", ".venv", "venv"}
SUBPROCESS_TIMEOUT = 600  # seconds per checker subprocess


def is_toil(module):
    """True for ``toil`` and ``toil.*`` (but not ``toil_vg`` and friends)."""
    return module == "toil" or module.startswith("toil.")


def stmt_of(node):
    """Turn one ast import node into [(module, name, source_text)] entries.

    ``source_text`` is a minimal statement that reproduces that one import;
    for ``import toil.a.b`` the name is ``-``.
    """
    out = []
    if isinstance(node, ast.ImportFrom):
        if node.level == 0 and node.module and is_toil(node.module):
            for a in node.names:
                out.append((node.module, a.name, "from %s import %s" % (node.module, a.name)))
    elif isinstance(node, ast.Import):
        for a in node.names:
            if is_toil(a.name):
                out.append((a.name, "-", "import %s" % a.name))
    return out


IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def guarded_nodes(tree):
    """ids of import nodes in a ``try:`` whose handlers would catch an
    ImportError (bare ``except``, ``ImportError``, ``Exception``...), both in
    its body and in those handlers (the fallback).  ``--ignore-guarded`` lets
    them fail (lenient: it does not check that one alternative succeeds)."""
    out = set()
    for t in ast.walk(tree):
        if not isinstance(t, ast.Try):
            continue

        def catches(h):
            if h.type is None:
                return True
            elts = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
            return any(getattr(e, "id", getattr(e, "attr", None)) in IMPORT_ERRORS for e in elts)

        handlers = [h for h in t.handlers if catches(h)]
        if handlers:
            for stmt in t.body + [x for h in handlers for x in h.body]:
                out.update(id(n) for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return out


def wanted(project, relpath):
    """Filter files: everything, except in the Toil repo itself."""
    if project != TOIL_SELF:
        return True
    if any(fnmatch.fnmatch(relpath, p) for p in TOIL_SELF_EXCLUDE):
        return False
    return any(fnmatch.fnmatch(relpath, p) for p in TOIL_SELF_INCLUDE)


def module_chain(known, base, dotted):
    """Project files that importing ``dotted`` from directory ``base`` runs:
    each package's ``__init__.py`` along the way, then the module (``x.py``
    or ``x/__init__.py``).  Stops where the chain leaves ``known`` (the
    project's .py files, relative paths).  ``base`` "" is the project root."""
    out, cur = [], base
    for part in dotted.split("."):
        cur = os.path.join(cur, part)
        hit = [c for c in (cur + ".py", os.path.join(cur, "__init__.py")) if c in known]
        if not hit:
            break
        out.append(hit[0])
    return out


def project_deps(known, rel, node):
    """Files of the project (``known``) that one import node of ``rel`` runs.

    Absolute ``a.b``: against the shallowest directory on the path from the
    project root to the file holding ``a/__init__.py`` or ``a.py`` (cactus's
    ``src/``; the file's own directory, last, covers a script's siblings).
    Relative ones: against the file's package.  ``from X import n`` adds
    ``X/n`` if a submodule.  Not project modules: toil, modules not found
    (third party), and the file's own enclosing packages (which run only
    when it is imported as part of its package)."""
    if isinstance(node, ast.Import):  # [(module, names imported from it)]
        pairs = [(a.name, []) for a in node.names]
    else:
        pairs = [(node.module or "", [a.name for a in node.names if a.name != "*"])]
    here, out = os.path.dirname(rel), []
    for mod, names in pairs:
        if getattr(node, "level", 0):
            base = here
            for _ in range(node.level - 1):
                base = os.path.dirname(base)
        elif is_toil(mod):
            continue
        else:
            parts = here.split(os.sep) if here else []
            roots = [os.path.join("", *parts[:i]) for i in range(len(parts) + 1)]
            base = next((r for r in roots if module_chain(known, r, mod.split(".")[0])), None)
            if base is None:
                continue
        chain = module_chain(known, base, mod) if mod else []
        out += chain
        if len(chain) != (mod.count(".") + 1 if mod else 0):
            continue  # mod is not (all) the project's
        init = os.path.join(base, "__init__.py")
        for n in names:
            sub = module_chain(known, base, mod + "." + n if mod else n)[len(chain) :]
            if not sub and not mod and init in known:
                sub = [init]  # from . import name: a name from the package's __init__
            out += sub
    return out


def scan_project(root, project):
    """Return {"files", "deps", "unparsable", "toil_files", "toil_reach"}.

    ``files`` maps a relative path to its sorted list of distinct
    (module, name, source_text, guarded) toil imports; files without toil
    imports are left out.  ``deps`` maps every parsed file to the sorted
    distinct (project_file, guarded) it imports (see ``project_deps``; only
    wanted() files exist for it; unparsable ones have no deps nor toil
    imports, so importing them is neutral).  The counts: of each measure.
    """
    known = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fn in sorted(filenames):
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, root)
            if fn.endswith(".py") and not os.path.islink(path) and wanted(project, rel):
                known.append(rel)
    files, deps, unparsable, known_set = {}, {}, 0, set(known)
    for rel in known:
        try:
            with open(os.path.join(root, rel), "rb") as f:
                tree = ast.parse(f.read(), filename=rel)
        except (SyntaxError, ValueError, UnicodeDecodeError):
            unparsable += 1
            continue
        found, dep = set(), set()
        guarded = guarded_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                g = id(node) in guarded
                found.update(e + (g,) for e in stmt_of(node))
                dep.update((d, g) for d in project_deps(known_set, rel, node) if d != rel)
        if found:
            files[rel] = sorted(found)
        deps[rel] = sorted(dep)
    scan = {"files": files, "unparsable": unparsable, "deps": deps, "toil_files": len(files)}
    scan["toil_reach"] = len(transitive(scan, set(), False)[0])
    return scan


def scan_all(projects_dir):
    """Scan every ``owner+name`` directory; returns {project: scan_project()}."""
    result = {}
    for d in sorted(os.listdir(projects_dir)):
        root = os.path.join(projects_dir, d)
        if os.path.isdir(root) and "+" in d:
            result[d.replace("+", "/", 1)] = scan_project(root, d.replace("+", "/", 1))
    return result


def build_census(scanned):
    """{(module, name): sorted [project, ...]} over all projects."""
    census = {}
    for project, scan in scanned.items():
        for imports in scan["files"].values():
            for module, name, _src, _g in imports:
                census.setdefault((module, name), set()).add(project)
    return {k: sorted(v) for k, v in sorted(census.items())}


def write_census(census, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("module\tname\tprojects\n")
        for (module, name), projects in census.items():
            f.write("%s\t%s\t%s\n" % (module, name, ",".join(projects)))


# Code run inside each checker subprocess.  It reads a JSON request
# {"stmts": [...], "out": path}, execs every statement once (cached), and
# writes {stmt: null | "ExcType: message"} to ``out``.  Results go to a file
# so whatever the imported code prints cannot corrupt them.
CHILD = r"""
import json, sys, logging
req = json.load(sys.stdin)
res = {}
for s in req["stmts"]:
    try:
        exec(compile(s, "<census>", "exec"), {"__name__": "__census__"})
        res[s] = None
    except BaseException as e:  # SystemExit, ImportError, anything
        msg = " ".join(str(e).split())[:300]
        res[s] = "%s: %s" % (type(e).__name__, msg)
with open(req["out"], "w") as f:
    json.dump(res, f)
"""


def parse_check(spec):
    """``[LABEL=]PYTHON[:PYTHONPATH]`` -> (label, python, pythonpath|None)."""
    label, sep, rest = spec.partition("=")
    python, _, pythonpath = (rest if sep else spec).partition(":")
    return label, python, pythonpath or None


def run_child(python, stmts, pythonpath=None):
    """Exec ``stmts`` in a fresh ``python`` subprocess; {stmt: error|None}.
    PYTHONPATH is removed from its environment, or set to ``pythonpath``."""
    with tempfile.TemporaryDirectory(prefix="census-") as tmp:
        out = os.path.join(tmp, "result.json")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if pythonpath:  # absolute, as the child runs in tmp
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in pythonpath.split(os.pathsep))
        req = json.dumps({"stmts": sorted(set(stmts)), "out": out})
        try:
            # abspath: a relative interpreter path must survive cwd=tmp
            # (not realpath: a venv's python is a symlink that must stay one)
            proc = subprocess.run(
                [os.path.abspath(python), "-c", CHILD],
                input=req,
                text=True,
                cwd=tmp,
                env=env,
                capture_output=True,
                timeout=SUBPROCESS_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return {s: "Timeout: checker subprocess timed out" for s in stmts}
        if not os.path.exists(out):  # crashed (segfault, os._exit, ...)
            tail = " ".join(proc.stderr.split()[-30:])
            return {s: "Crash: rc=%s %s" % (proc.returncode, tail) for s in stmts}
        with open(out) as f:
            return json.load(f)


def transitive(scan, self_bad, ignore_guarded):
    """(counted, {failing file: import chain to a ``self_bad`` file}).

    Counted: every parsed file that reaches a file with toil imports along
    project imports (itself included; guarded ones too, so both modes count
    the same files).  A counted file fails when it reaches a file whose own
    toil imports fail; with ``ignore_guarded`` guarded project imports are
    not followed.  This search backwards from the failing files gives what a
    depth-first check taking modules being visited as fine gives, in any order.
    """
    rdeps = {}  # file -> [(importer, guarded)]
    for rel, deps in scan["deps"].items():
        for dep, g in deps:
            rdeps.setdefault(dep, []).append((rel, g))

    def reach(sources, follow_guarded):
        """{file: next file towards a source} for files reaching a source."""
        via, todo = {f: None for f in sources}, list(sources)
        while todo:
            cur = todo.pop(0)  # breadth first: shortest chains
            for importer, g in rdeps.get(cur, []):
                if importer not in via and (follow_guarded or not g):
                    via[importer] = cur
                    todo.append(importer)
        return via

    counted = reach(sorted(scan["files"]), True)
    via, bad = reach(sorted(self_bad), not ignore_guarded), {}
    for rel in sorted(via):  # the import chain from rel to a failing file
        chain = [rel]
        while via[chain[-1]]:
            chain.append(via[chain[-1]])
        bad[rel] = chain
    return counted, bad


def check(spec, scanned, census, ignore_guarded=False):
    """All figures for one ``--check`` spec."""
    print("checking with %s ..." % spec, file=sys.stderr, flush=True)
    _label, python, pythonpath = parse_check(spec)
    names_src = {k: ("import %s" % k[0] if k[1] == "-" else "from %s import %s" % k) for k in census}
    res = run_child(python, names_src.values(), pythonpath)
    failures = {"%s\t%s" % k: res[s] for k, s in names_src.items() if res[s]}
    projects, trans = {}, {}
    for project, scan in scanned.items():
        files = scan["files"]
        stmts = [src for imps in files.values() for _m, _n, src, _g in imps]
        res = run_child(python, stmts, pythonpath) if stmts else {}
        bad = {
            rel: [
                "%s -> %s%s" % (src, res[src], " (guarded)" if g else "")
                for _m, _n, src, g in imps
                if res[src] and not (g and ignore_guarded)
            ]
            for rel, imps in files.items()
        }
        bad = {rel: v for rel, v in bad.items() if v}
        projects[project] = {"files": len(files), "ok": len(files) - len(bad), "failing_files": bad}
        counted, tbad = transitive(scan, bad, ignore_guarded)
        # a failing file: the import chain to a failing file, then its errors
        tbad = {rel: [" -> ".join(chain)] * (len(chain) > 1) + bad[chain[-1]] for rel, chain in tbad.items()}
        trans[project] = {"files": len(counted), "ok": len(counted) - len(tbad), "failing_files": tbad}
    return {
        "python": python,
        "pythonpath": pythonpath,
        "names_ok": len(census) - len(failures),
        "names_total": len(census),
        "name_failures": failures,
        "projects": projects,
        "transitive": trans,
    }


def print_table(scanned, labels, results, measure, count_key):
    """One project table; ``measure``: "projects" (per file) or "transitive"."""
    heads = ["project", "unparsable", count_key.replace("_", "-")] + labels
    rows = [
        [project, str(scan["unparsable"]), str(scan[count_key])]
        + [str(results[label][measure][project]["ok"]) for label in labels]
        for project, scan in scanned.items()
    ]
    rows.append(["TOTAL"] + [str(sum(int(r[i]) for r in rows)) for i in range(1, len(heads))])
    widths = [max(len(r[i]) for r in rows + [heads]) for i in range(len(heads))]

    def fmt(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    print(fmt(heads))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))
    print()


def print_names(labels, results):
    """Name totals, then the first interpreter's failing names."""
    for label in labels:
        r = results[label]
        print("names importing with %s: %d / %d" % (label, r["names_ok"], r["names_total"]))
    if labels:
        first, others = labels[0], labels[1:]
        fails = results[first]["name_failures"]
        print("\nnames failing with %s (%d):" % (first, len(fails)))
        for key, err in sorted(fails.items()):
            also = "".join(" [%s: %s]" % (o, "FAIL" if key in results[o]["name_failures"] else "ok") for o in others)
            print("  %s  %s%s" % (key.replace("\t", " : "), err, also))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", default="/tmp/census/src", help="directory of owner+name project trees")
    ap.add_argument("--write-census", metavar="FILE", help="write the TSV census")
    ap.add_argument(
        "--check",
        metavar="[LABEL=]PYTHON[:PYTHONPATH]",
        action="append",
        default=[],
        help="interpreter to check imports with, as column LABEL, with PYTHONPATH set (else unset) (repeatable)",
    )
    ap.add_argument("--json", metavar="FILE", help="write all figures as JSON")
    ap.add_argument(
        "--ignore-guarded",
        action="store_true",
        help="a file still counts if only imports inside a "
        "try/except ImportError fail (fallback imports), "
        "in both measures",
    )
    args = ap.parse_args(argv)

    labels = [parse_check(spec)[0] for spec in args.check]
    if len(set(labels)) < len(labels):
        ap.error("duplicate --check labels: %s" % labels)
    scanned = scan_all(args.projects)
    census = build_census(scanned)
    unparsable = sum(v["unparsable"] for v in scanned.values())
    print(
        "projects: %d, census: %d distinct (module, name), unparsable files: %d"
        % (len(scanned), len(census), unparsable)
    )
    if args.write_census:
        write_census(census, args.write_census)
        print("census written to", args.write_census)

    results = {label: check(spec, scanned, census, args.ignore_guarded) for label, spec in zip(labels, args.check)}
    mode = " (guarded failing imports ignored)" if args.ignore_guarded else ""
    print("\nper file: files whose own toil imports all succeed%s" % mode)
    print_table(scanned, labels, results, "projects", "toil_files")
    print("transitive: ... and so do those of the project modules they import%s" % mode)
    print_table(scanned, labels, results, "transitive", "toil_reach")
    print_names(labels, results)

    if args.json:
        figures = {
            "census_size": len(census),
            "census": [{"module": m, "name": n, "projects": p} for (m, n), p in census.items()],
            "ignore_guarded": args.ignore_guarded,
            "projects": {
                pr: {k: v[k] for k in ("toil_files", "toil_reach", "unparsable")} for pr, v in scanned.items()
            },
            "interpreters": results,
        }
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
        print("\nfigures written to", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
