"""Auto-deployment, the leader's side: which of the user's code the workers need, as Toil's auto-deployment ships it.

The user's main module (``locate``, as Toil's ModuleDescriptor.forModule) is in one of three layouts: (a) a script
(``python dir/flow.py``): its directory's ``.py`` modules, imported or not, and its packages go; (b) a module of a
package (``python -m workflow.main``): the directory above the top-level package goes the same way; (c) a module
installed in a ``--system-site-packages`` virtualenv: that virtualenv's site-packages goes. A package installed
with ``pip install -e`` is refused, as Toil refuses it. ``record_deployment`` ships the files (worker/deploy.py)
and says what the workers need, with the leader's PYTHONPATH, which Toil passes on too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import logging
import os
import site
import sys
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Iterator

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.base import JobStore
from toil.runtime.worker.deploy import Deployment, ship

log = logging.getLogger("toil.deploy")

NATIVE = (".so", ".pyd", ".dylib")
# What a virtualenv is made with, not what the workflow runs: left out of a shipped site-packages.
INSTALLER_TOOLS = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel")
# Toil refuses to zip these whole (a script directly in /tmp or /home would ship everything there).
SYSTEM_DIRS = frozenset({"/", "/tmp", "/var", "/etc", "/bin", "/sbin", "/home", "/dev", "/sys", "/usr", "/run"})


@dataclass(frozen=True)
class UserCode:
    """The user's main module: its name, the directory that goes on sys.path for it, and its layout."""

    name: str
    root: str
    layout: str  # script (a), package (b), venv (c), or installed (where Toil itself is, so on every worker)


def record_deployment(
    job_store: JobStore, fallback: str | None, previous: Any, auto_deploy: bool, main: ModuleType | None = None
) -> Deployment:
    """What workers need to import the user's code; the code shipped into ``job_store`` if ``auto_deploy``.

    ``main`` is the user's main module (default ``__main__``); ``fallback`` names the root job's module, used
    when ``__main__`` is no Python file (a console script); ``previous`` is the ``deploy`` of an earlier run.
    """
    before = Deployment.from_json(previous)
    pythonpath = os.environ.get("PYTHONPATH")
    code = locate(main if main is not None else sys.modules.get("__main__"))
    if code is None and fallback and fallback in sys.modules:
        code = locate(sys.modules[fallback])
    if code is None:
        # A restart from a console script: keep what the first run shipped.
        return Deployment(**{**asdict(before), "pythonpath": pythonpath})
    # A package's __main__.py (python -m pkg) runs its workflow when imported: workers only get its tree.
    name = None if code.name.rpartition(".")[2] == "__main__" else code.name
    if code.layout == "installed":
        return Deployment(name, pythonpath=pythonpath)  # workers import it from their own installation
    if not auto_deploy:
        return Deployment(name, code.root, pythonpath=pythonpath)
    check_shippable(code)
    files, left_out = tree_files(code)
    if left_out:
        more = f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
        log.warning(
            "Not shipping native code to the workers, which must have it installed: %s%s", ", ".join(left_out[:5]), more
        )
    file_id, digest = ship(job_store, files, before)
    return Deployment(name, code.root, file_id, digest, pythonpath)


def locate(module: ModuleType | None) -> UserCode | None:
    """The user code ``module`` belongs to (as Toil's ModuleDescriptor.forModule); None: nothing to ship."""
    path = getattr(module, "__file__", None)
    if module is None or not isinstance(path, str) or not path.endswith(".py"):
        return None  # interactive, a console script, or a compiled module
    path = os.path.abspath(path)
    name = module.__name__
    if name == "__main__":
        spec = module.__spec__  # python -m pkg.mod sets it; python dir/flow.py does not
        name = spec.name if spec is not None else os.path.basename(path)[: -len(".py")]
    parts = name.split(".")
    if parts[0] in ("toil", "__main__") or not all(parts):
        return None  # Toil's own modules are on every worker
    root = os.path.dirname(path)
    for package in reversed(parts if os.path.basename(path) == "__init__.py" else parts[:-1]):
        if os.path.basename(root) != package:
            return None  # not laid out as its name says: no root to ship
        root = os.path.dirname(root)
    return UserCode(name, root, _layout(root, len(parts) > 1))


def _layout(root: str, dotted: bool) -> str:
    real = os.path.realpath(root)
    site_dirs = {os.path.realpath(d) for d in [*site.getsitepackages(), site.getusersitepackages()]}
    if os.path.basename(real) in ("site-packages", "dist-packages") or real in site_dirs:
        return "venv" if _venv_without_toil(real) else "installed"
    return "package" if dotted else "script"


def _venv_without_toil(site_dir: str) -> bool:
    """Whether ``site_dir`` is this --system-site-packages virtualenv's, and Toil comes from elsewhere.

    A virtualenv that holds Toil must be on every worker already (the workers run its Toil), and so is all it holds.
    """
    prefix = os.path.realpath(sys.prefix)
    if sys.prefix == sys.base_prefix or not site_dir.startswith(prefix + os.sep):
        return False
    try:
        with open(os.path.join(sys.prefix, "pyvenv.cfg"), encoding="utf-8") as f:
            cfg = dict(line.partition("=")[::2] for line in f)
    except OSError:
        return False
    system = {k.strip(): v.strip().lower() for k, v in cfg.items()}.get("include-system-site-packages") == "true"
    toil_dir = os.path.dirname(os.path.dirname(os.path.realpath(sys.modules["toil"].__file__ or "")))
    return system and not (toil_dir + os.sep).startswith(site_dir + os.sep)


def check_shippable(code: UserCode) -> None:
    """Refuse, as Toil does, a tree that cannot be auto-deployed (ToilUserError, one line)."""
    if code.layout != "venv" and os.path.realpath(code.root) in SYSTEM_DIRS:
        raise ToilUserError(
            f"cannot auto-deploy the directory {code.root} to the workers (the workflow's code is in it): "
            f"move the workflow into a subdirectory, e.g. {os.path.join(code.root, 'MYDIR')}"
        )
    if code.layout == "package":
        top = os.path.realpath(os.path.join(code.root, code.name.split(".")[0]))
        for where in _editable_locations():
            if os.path.realpath(where) in (os.path.realpath(code.root), top):
                raise ToilUserError(
                    f"cannot auto-deploy {code.name} to the workers: it is installed in development mode "
                    f"('pip install -e' or 'setup.py develop', from {where}), which links to the source files "
                    f"instead of copying them, and Toil can't auto-deploy such an install; install it with "
                    f"'pip install .' instead"
                )


def _editable_locations() -> Iterator[str]:
    """The directories editable installs add to the import path (.pth files, setuptools' finders, .egg-links)."""
    for dist in importlib.metadata.distributions():
        try:
            info = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if not isinstance(info, dict) or not (info.get("dir_info") or {}).get("editable"):
            continue
        for f in dist.files or ():
            if f.name.endswith(".pth"):
                yield from _lines(str(f.locate()))
            elif f.name.startswith("__editable__") and f.name.endswith("_finder.py"):
                yield from _finder_mapping(str(f.locate()))
    for site_dir in {*site.getsitepackages(), site.getusersitepackages(), *sys.path}:
        if os.path.basename(site_dir) in ("site-packages", "dist-packages") and os.path.isdir(site_dir):
            for name in os.listdir(site_dir):
                if name.endswith(".egg-link"):
                    yield from _lines(os.path.join(site_dir, name))[:1]


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [s for s in (line.strip() for line in f) if s and not s.startswith(("#", "import "))]
    except OSError:
        return []


def _finder_mapping(path: str) -> list[str]:
    """The package directories a setuptools editable finder maps names to (its ``MAPPING`` literal)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "MAPPING" for t in targets):
            try:
                mapping = ast.literal_eval(value)
            except ValueError:
                return []
            return [str(v) for v in mapping.values()] if isinstance(mapping, dict) else []
    return []


def tree_files(code: UserCode) -> tuple[list[tuple[str, str]], list[str]]:
    """What to ship, as (path, name in the zip) in order, and the native code left out (for the warning)."""
    files: list[tuple[str, str]] = []
    left_out: list[str] = []
    for entry in _entries(code.root):
        if code.layout == "venv" and (
            entry.name.endswith(".pth") or entry.name.startswith("__editable__") or _installer(entry.name)
        ):
            continue
        if entry.is_dir():
            if code.layout == "venv" or os.path.isfile(os.path.join(entry.path, "__init__.py")):
                inside, native = _walk(entry.path, code.root)
                if native and code.layout == "venv":
                    # Its compiled part would not come along: the worker's own copy must be used whole.
                    left_out.append(f"{entry.name} (for {native[0]})")
                    continue
                files += inside
                left_out += native
        elif entry.name.endswith(NATIVE):
            left_out.append(entry.name)
        elif entry.name.endswith(".py"):
            files.append((entry.path, entry.name))
    return files, left_out


def _entries(directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as it:
        return sorted((e for e in it if not _skipped_dir_name(e.name)), key=lambda e: e.name)


def _skipped_dir_name(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _installer(name: str) -> bool:
    return name in INSTALLER_TOOLS or any(
        name.startswith(tool + "-") and name.endswith((".dist-info", ".egg-info")) for tool in INSTALLER_TOOLS
    )


def _walk(top: str, root: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Every file of a package (package data too), and its native extensions, which are not shipped."""
    files: list[tuple[str, str]] = []
    native: list[str] = []
    for here, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not _skipped_dir_name(d) and not _is_venv(os.path.join(here, d)))
        for name in sorted(names):
            path = os.path.join(here, name)
            if name.endswith(NATIVE):
                native.append(os.path.relpath(path, root))
            elif not name.endswith((".pyc", ".pyo")):
                files.append((path, os.path.relpath(path, root)))
    return files, native


def _is_venv(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))
