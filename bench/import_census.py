#!/usr/bin/env python3
"""Census of the names that real Toil-based projects import from ``toil``.

Standalone, stdlib only.  Typical use::

    python3 bench/import_census.py --projects /tmp/census/src \
        --write-census tests/unit/facades/toil_import_census.tsv \
        --check .venv/bin/python --check bench/toil-venv/bin/python \
        --json /tmp/census/figures.json

``--projects DIR`` holds one directory per project, named ``owner+name``
(e.g. ``vgteam+toil-vg``), each an extracted source tree.  Every ``.py`` file
is parsed with :mod:`ast` (files that fail to parse under Python 3, e.g.
Python 2 code, are skipped and counted) and every absolute
``from toil[.x] import N`` / ``import toil[.x]`` statement is collected,
wherever it sits (module level, inside functions, inside ``try:``).
Relative imports are ignored.  For DataBiosphere/toil itself only the
user-style scripts listed in ``TOIL_SELF_INCLUDE`` count, not the library.

``--check PYTHON`` (repeatable) runs, for each interpreter, one fresh
subprocess for the census names and one fresh subprocess per project for
its files.  A file "imports here" if every toil import statement in it
succeeds (its other imports are not tried); files without toil imports are
not counted.  The statements are run with ``exec`` so Python's own import
semantics (submodule fallback, ``*``) apply.  With ``--ignore-guarded``, a
failing import inside ``try: ... except ImportError:`` (a fallback such as
``try: from toil.fileStores import FileID / except ImportError: from
toil.fileStore import FileID``) does not spoil its file.

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
                out.append((node.module, a.name,
                            "from %s import %s" % (node.module, a.name)))
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
            return any(getattr(e, "id", getattr(e, "attr", None)) in IMPORT_ERRORS
                       for e in elts)
        handlers = [h for h in t.handlers if catches(h)]
        if handlers:
            for stmt in t.body + [x for h in handlers for x in h.body]:
                out.update(id(n) for n in ast.walk(stmt)
                           if isinstance(n, (ast.Import, ast.ImportFrom)))
    return out


def wanted(project, relpath):
    """Filter files: everything, except in the Toil repo itself."""
    if project != TOIL_SELF:
        return True
    if any(fnmatch.fnmatch(relpath, p) for p in TOIL_SELF_EXCLUDE):
        return False
    return any(fnmatch.fnmatch(relpath, p) for p in TOIL_SELF_INCLUDE)


def scan_project(root, project):
    """Return (files, unparsable) for one project tree.

    ``files`` maps a relative path to its sorted list of distinct
    (module, name, source_text, guarded) toil imports; files without toil
    imports are left out.
    """
    files, unparsable = {}, 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, root)
            if os.path.islink(path) or not wanted(project, rel):
                continue
            try:
                with open(path, "rb") as f:
                    tree = ast.parse(f.read(), filename=path)
            except (SyntaxError, ValueError, UnicodeDecodeError):
                unparsable += 1
                continue
            found = set()
            guarded = guarded_nodes(tree)
            for node in ast.walk(tree):
                found.update(e + (id(node) in guarded,) for e in stmt_of(node))
            if found:
                files[rel] = sorted(found)
    return files, unparsable


def scan_all(projects_dir):
    """Scan every ``owner+name`` directory; returns {project: (files, bad)}."""
    result = {}
    for d in sorted(os.listdir(projects_dir)):
        root = os.path.join(projects_dir, d)
        if os.path.isdir(root) and "+" in d:
            result[d.replace("+", "/", 1)] = scan_project(root, d.replace("+", "/", 1))
    return result


def build_census(scanned):
    """{(module, name): sorted [project, ...]} over all projects."""
    census = {}
    for project, (files, _) in scanned.items():
        for imports in files.values():
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


def run_child(python, stmts):
    """Exec ``stmts`` in a fresh ``python`` subprocess; {stmt: error|None}."""
    with tempfile.TemporaryDirectory(prefix="census-") as tmp:
        out = os.path.join(tmp, "result.json")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        req = json.dumps({"stmts": sorted(set(stmts)), "out": out})
        try:
            # abspath: a relative interpreter path must survive cwd=tmp
            # (not realpath: a venv's python is a symlink that must stay one)
            proc = subprocess.run([os.path.abspath(python), "-c", CHILD], input=req, text=True,
                                  cwd=tmp, env=env, capture_output=True,
                                  timeout=SUBPROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {s: "Timeout: checker subprocess timed out" for s in stmts}
        if not os.path.exists(out):  # crashed (segfault, os._exit, ...)
            tail = " ".join(proc.stderr.split()[-30:])
            return {s: "Crash: rc=%s %s" % (proc.returncode, tail) for s in stmts}
        with open(out) as f:
            return json.load(f)


def check(python, scanned, census, ignore_guarded=False):
    """All figures for one interpreter."""
    names_src = {k: ("import %s" % k[0] if k[1] == "-"
                     else "from %s import %s" % k) for k in census}
    res = run_child(python, names_src.values())
    failures = {"%s\t%s" % k: res[s] for k, s in names_src.items() if res[s]}
    projects = {}
    for project, (files, _) in scanned.items():
        stmts = [src for imps in files.values() for _m, _n, src, _g in imps]
        res = run_child(python, stmts) if stmts else {}
        bad = {rel: ["%s -> %s%s" % (src, res[src], " (guarded)" if g else "")
                     for _m, _n, src, g in imps
                     if res[src] and not (g and ignore_guarded)]
               for rel, imps in files.items()}
        bad = {rel: v for rel, v in bad.items() if v}
        projects[project] = {"files": len(files), "ok": len(files) - len(bad),
                             "failing_files": bad}
    return {"names_ok": len(census) - len(failures), "names_total": len(census),
            "name_failures": failures, "projects": projects}


def print_table(scanned, pythons, results):
    """Project table, then name totals, then the first interpreter's failures."""
    heads = ["project", "unparsable", "toil-files"] + pythons
    rows = []
    for project, (files, bad) in scanned.items():
        rows.append([project, str(bad), str(len(files))] +
                    [str(results[p]["projects"][project]["ok"]) for p in pythons])
    tot = ["TOTAL", str(sum(b for _f, b in scanned.values())),
           str(sum(len(f) for f, _b in scanned.values()))]
    tot += [str(sum(v["ok"] for v in results[p]["projects"].values()))
            for p in pythons]
    rows.append(tot)
    widths = [max(len(r[i]) for r in rows + [heads]) for i in range(len(heads))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                              for i, (c, w) in enumerate(zip(r, widths)))
    print(fmt(heads))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))
    print()
    for p in pythons:
        r = results[p]
        print("names importing with %s: %d / %d" % (p, r["names_ok"], r["names_total"]))
    if pythons:
        first, others = pythons[0], pythons[1:]
        fails = results[first]["name_failures"]
        print("\nnames failing with %s (%d):" % (first, len(fails)))
        for key, err in sorted(fails.items()):
            also = "".join(" [%s: %s]" % (o, "FAIL" if key in results[o]["name_failures"]
                                         else "ok") for o in others)
            print("  %s  %s%s" % (key.replace("\t", " : "), err, also))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", default="/tmp/census/src",
                    help="directory of owner+name project trees")
    ap.add_argument("--write-census", metavar="FILE", help="write the TSV census")
    ap.add_argument("--check", metavar="PYTHON", action="append", default=[],
                    help="interpreter to check imports with (repeatable)")
    ap.add_argument("--json", metavar="FILE", help="write all figures as JSON")
    ap.add_argument("--ignore-guarded", action="store_true",
                    help="a file still counts if only imports inside a "
                         "try/except ImportError fail (fallback imports)")
    args = ap.parse_args(argv)

    scanned = scan_all(args.projects)
    census = build_census(scanned)
    print("projects: %d, census: %d distinct (module, name), unparsable files: %d"
          % (len(scanned), len(census), sum(b for _f, b in scanned.values())))
    if args.write_census:
        write_census(census, args.write_census)
        print("census written to", args.write_census)

    results = {}
    for python in args.check:
        print("checking with %s ..." % python, file=sys.stderr, flush=True)
        results[python] = check(python, scanned, census, args.ignore_guarded)
    print()
    print_table(scanned, args.check, results)

    if args.json:
        figures = {
            "census_size": len(census),
            "census": [{"module": m, "name": n, "projects": p}
                       for (m, n), p in census.items()],
            "projects": {pr: {"toil_files": len(f), "unparsable": b}
                         for pr, (f, b) in scanned.items()},
            "interpreters": results,
        }
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
        print("\nfigures written to", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
