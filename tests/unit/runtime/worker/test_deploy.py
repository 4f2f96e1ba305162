"""Auto-deployment: what each of Toil's layouts ships, what is refused or left out, and how workers unpack it."""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import logging
import multiprocessing
import os
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from toil.exceptions import ToilUserError
from toil.runtime.batch.local.system import LocalBatchSystem
from toil.runtime.batch.remote.slurm import SlurmBatchSystem
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.usercode import UserCode, check_shippable, locate, record_deployment, tree_files
from toil.runtime.worker.deploy import Deployment, _rename_into_place, adopt, import_main, install, ship


@pytest.fixture
def store(tmp_path: Path) -> FileJobStore:
    js = FileJobStore(str(tmp_path / "js"))
    js.create({"workflow_id": "w", "config": {}})
    return js


@pytest.fixture
def restored() -> Iterator[None]:
    """Put back what importing user code changes: sys.path, sys.modules (and __main__), PYTHONPATH."""
    path, modules, pythonpath = list(sys.path), dict(sys.modules), os.environ.get("PYTHONPATH")
    yield
    sys.path[:] = path
    for name in set(sys.modules) - set(modules):
        del sys.modules[name]
    sys.modules.update(modules)
    if pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = pythonpath


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def main_module(path: Path, dash_m: str | None = None) -> ModuleType:
    """A ``__main__`` as Python makes it for ``python path`` or ``python -m dash_m``."""
    module = ModuleType("__main__")
    module.__file__ = str(path)
    module.__spec__ = importlib.machinery.ModuleSpec(dash_m, None, origin=str(path)) if dash_m else None
    return module


def script_dir(root: Path) -> Path:
    """A script with siblings, a sub-package with data, a plain data directory and things never shipped."""
    write(root / "flow.py", "import helper\n")
    write(root / "helper.py")
    write(root / "unused.py")  # imported by nobody: shipped all the same
    write(root / "notes.txt")
    write(root / "pkg" / "__init__.py")
    write(root / "pkg" / "inner" / "__init__.py")
    write(root / "pkg" / "inner" / "mod.py")
    write(root / "pkg" / "templates" / "t.txt")  # package data
    write(root / "pkg" / "fast.cpython-311-x86_64-linux-gnu.so")
    write(root / "pkg" / "__pycache__" / "x.cpython-311.pyc")
    write(root / "data" / "big.py")  # not a package: not shipped
    write(root / ".git" / "x.py")
    write(root / "native.so")
    return root / "flow.py"


def names(code: UserCode) -> list[str]:
    return [name for _, name in tree_files(code)[0]]


# ------------------------------------------------------------------------------------------------ layouts
def test_a_script_ships_its_sibling_modules_and_packages_but_no_native_code(tmp_path: Path) -> None:
    flow = script_dir(tmp_path / "proj")
    code = locate(main_module(flow))
    assert code == UserCode("flow", str(tmp_path / "proj"), "script")
    files, left_out = tree_files(code)
    assert [n for _, n in files] == [
        "flow.py",
        "helper.py",
        "pkg/__init__.py",
        "pkg/inner/__init__.py",
        "pkg/inner/mod.py",
        "pkg/templates/t.txt",
        "unused.py",
    ]
    assert left_out == ["native.so", "pkg/fast.cpython-311-x86_64-linux-gnu.so"]


def test_a_module_run_with_dash_m_ships_every_package_under_its_root(tmp_path: Path) -> None:
    root = tmp_path / "my_project"
    main = write(root / "workflow" / "main.py")
    write(root / "workflow" / "__init__.py")
    write(root / "util" / "__init__.py")
    write(root / "util" / "sort" / "__init__.py")
    write(root / "util" / "sort" / "quick.py")
    code = locate(main_module(main, "workflow.main"))
    assert code == UserCode("workflow.main", str(root), "package")
    assert names(code) == [
        "util/__init__.py",
        "util/sort/__init__.py",
        "util/sort/quick.py",
        "workflow/__init__.py",
        "workflow/main.py",
    ]
    # An imported module of the hierarchy names the same root (Toil's user module of a job).
    imported = ModuleType("util.sort.quick")
    imported.__file__ = str(root / "util" / "sort" / "quick.py")
    assert locate(imported) == UserCode("util.sort.quick", str(root), "package")


def test_nothing_is_shipped_for_toil_itself_a_console_script_or_a_module_not_where_its_name_says(
    tmp_path: Path,
) -> None:
    import toil.common

    assert locate(toil.common) is None
    assert locate(main_module(write(tmp_path / "bin" / "my-workflow"))) is None
    assert locate(main_module(write(tmp_path / "elsewhere" / "main.py"), "workflow.main")) is None
    assert locate(None) is None


def fake_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_site_packages: bool = True) -> Path:
    prefix = tmp_path / "venv"
    site_dir = prefix / "lib" / "python3.11" / "site-packages"
    write(
        prefix / "pyvenv.cfg", f"home = /usr/bin\ninclude-system-site-packages = {str(system_site_packages).lower()}\n"
    )
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    write(site_dir / "workflow" / "__init__.py")
    write(site_dir / "workflow" / "main.py")
    write(site_dir / "workflow-1.0.dist-info" / "METADATA")
    write(site_dir / "numpy" / "__init__.py")
    write(site_dir / "numpy" / "core" / "_multiarray.cpython-311-x86_64-linux-gnu.so")
    write(site_dir / "pip" / "__init__.py")
    write(site_dir / "pip-24.0.dist-info" / "RECORD")
    write(site_dir / "_distutils_hack" / "__init__.py")
    write(site_dir / "distutils-precedence.pth")
    write(site_dir / "__editable__.other-1.0.pth")
    write(site_dir / "six.py")
    return site_dir


def test_a_system_site_packages_virtualenv_ships_its_site_packages_without_native_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_dir = fake_venv(tmp_path, monkeypatch)
    code = locate(main_module(site_dir / "workflow" / "main.py", "workflow.main"))
    assert code == UserCode("workflow.main", str(site_dir), "venv")
    files, left_out = tree_files(code)
    assert [n for _, n in files] == [
        "six.py",
        "workflow/__init__.py",
        "workflow/main.py",
        "workflow-1.0.dist-info/METADATA",
    ]
    # Shipped without its compiled part, numpy would hide the worker's own whole copy.
    assert left_out == ["numpy (for numpy/core/_multiarray.cpython-311-x86_64-linux-gnu.so)"]


def test_a_virtualenv_that_holds_toil_is_on_every_worker_already(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_dir = fake_venv(tmp_path, monkeypatch, system_site_packages=False)
    code = locate(main_module(site_dir / "workflow" / "main.py", "workflow.main"))
    assert code is not None and code.layout == "installed"


# ------------------------------------------------------------------------------------------------ refusals
def editable_install(site_dir: Path, project: Path) -> None:
    """What 'pip install -e project' leaves in site-packages: a .pth naming the source tree, an editable record."""
    write(site_dir / "__editable__.flow-0.1.pth", f"{project}\n")
    info = site_dir / "flow-0.1.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: flow\nVersion: 0.1\n")
    write(info / "direct_url.json", json.dumps({"url": f"file://{project}", "dir_info": {"editable": True}}))
    write(info / "RECORD", "__editable__.flow-0.1.pth,,\nflow-0.1.dist-info/METADATA,,\n")


def test_a_package_installed_with_pip_install_e_is_refused_with_toils_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(project / "workflow" / "__init__.py")
    main = write(project / "workflow" / "main.py")
    site_dir = tmp_path / "site-packages"
    editable_install(site_dir, project)
    monkeypatch.syspath_prepend(str(site_dir))
    code = locate(main_module(main, "workflow.main"))
    assert code is not None
    with pytest.raises(ToilUserError) as e:
        check_shippable(code)
    message = str(e.value)
    assert "\n" not in message and "cannot auto-deploy workflow.main to the workers" in message
    assert "installed in development mode ('pip install -e' or 'setup.py develop'" in message
    assert "links to the source files instead of copying them, and Toil can't auto-deploy such an install" in message
    # A script in the same tree is not the installed package: it ships.
    check_shippable(UserCode("flow", str(project / "workflow"), "script"))


def test_setuptools_editable_finders_and_develop_egg_links_are_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(project / "workflow" / "__init__.py")
    site_dir = tmp_path / "site-packages"
    info = site_dir / "flow-0.1.dist-info"
    write(info / "direct_url.json", json.dumps({"url": f"file://{project}", "dir_info": {"editable": True}}))
    write(info / "METADATA", "Metadata-Version: 2.1\nName: flow\nVersion: 0.1\n")
    write(info / "RECORD", "__editable___flow_0_1_finder.py,,\n")
    write(
        site_dir / "__editable___flow_0_1_finder.py",
        f"import sys\nMAPPING: dict[str, str] = {{'workflow': {str(project / 'workflow')!r}}}\n",
    )
    monkeypatch.syspath_prepend(str(site_dir))
    with pytest.raises(ToilUserError, match="development mode"):
        check_shippable(UserCode("workflow.main", str(project), "package"))
    (info / "direct_url.json").unlink()
    check_shippable(UserCode("workflow.main", str(project), "package"))
    write(site_dir / "flow.egg-link", f"{project}\n.\n")
    with pytest.raises(ToilUserError, match="development mode"):
        check_shippable(UserCode("workflow.main", str(project), "package"))


def test_a_script_directly_in_a_system_directory_is_refused_as_toil_does() -> None:
    with pytest.raises(ToilUserError, match=r"cannot auto-deploy the directory /tmp .*subdirectory, e.g. /tmp/MYDIR"):
        check_shippable(UserCode("flow", "/tmp", "script"))


# ------------------------------------------------------------------------------------------------ shipping
def test_the_leader_ships_once_warns_once_about_native_code_and_reuses_an_unchanged_zip(
    tmp_path: Path, store: FileJobStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/opt/lib")
    main = main_module(script_dir(tmp_path / "proj"))
    with caplog.at_level(logging.WARNING, logger="toil.deploy"):
        first = record_deployment(store, None, None, True, main)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "native.so" in warning and "pkg/fast.cpython-311-x86_64-linux-gnu.so" in warning
    assert (first.module, first.root, first.pythonpath) == ("flow", str(tmp_path / "proj"), "/opt/lib")
    assert first.file_id and first.digest and store.file_exists(first.file_id)
    with store.read_file_stream(first.file_id) as f, zipfile.ZipFile(f) as z:
        assert "pkg/inner/mod.py" in z.namelist() and "native.so" not in z.namelist()
    again = record_deployment(store, None, first.to_json(), True, main)
    assert again == first, "a restart with the same code reuses its zip"
    write(tmp_path / "proj" / "helper.py", "CHANGED = 1\n")
    changed = record_deployment(store, None, first.to_json(), True, main)
    assert changed.digest != first.digest and changed.file_id != first.file_id
    assert Deployment.from_json(json.loads(json.dumps(changed.to_json()))) == changed
    unshipped = record_deployment(store, None, None, False, main)  # --disableAutoDeployment
    assert (unshipped.module, unshipped.file_id) == ("flow", None)


def test_a_console_script_ships_the_root_jobs_module(tmp_path: Path, store: FileJobStore, restored: None) -> None:
    root = tmp_path / "proj"
    write(root / "workflow" / "__init__.py")
    jobs = write(root / "workflow" / "jobs.py")
    module = ModuleType("workflow.jobs")
    module.__file__ = str(jobs)
    sys.modules["workflow.jobs"] = module
    console = main_module(write(tmp_path / "bin" / "my-workflow"))
    deployment = record_deployment(store, "workflow.jobs", None, True, console)
    assert (deployment.module, deployment.root) == ("workflow.jobs", str(root)) and deployment.file_id


def test_a_packages_main_is_shipped_but_not_imported_by_workers_for_it_would_run_the_workflow_again(
    tmp_path: Path, store: FileJobStore, restored: None
) -> None:
    root = tmp_path / "proj"
    write(root / "deploy_pkg_z" / "__init__.py")
    main = write(root / "deploy_pkg_z" / "__main__.py", "raise SystemExit('ran the workflow again')\n")
    write(root / "deploy_pkg_z" / "jobs.py", "WHERE = 'shipped'\n")
    deployment = record_deployment(store, None, None, True, main_module(main, "deploy_pkg_z.__main__"))
    assert deployment.module is None and deployment.file_id
    adopt(store, deployment, str(tmp_path / "cache"))
    assert importlib.import_module("deploy_pkg_z.jobs").WHERE == "shipped"


def test_with_no_user_code_to_find_only_the_pythonpath_is_recorded(
    store: FileJobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/opt/lib")
    assert record_deployment(store, None, None, True, ModuleType("__main__")) == Deployment(pythonpath="/opt/lib")


# ------------------------------------------------------------------------------------------------ workers
def shipped(store: FileJobStore, tmp_path: Path) -> tuple[str, str]:
    return ship(store, [(str(write(tmp_path / "src" / "m.py", "X = 1\n")), "m.py")], Deployment())


def test_extraction_happens_once_per_node(tmp_path: Path, store: FileJobStore) -> None:
    file_id, digest = shipped(store, tmp_path)
    cache = str(tmp_path / "cache")
    target = install(store, file_id, digest, cache)
    assert target == os.path.join(cache, digest) and os.listdir(target) == ["m.py"]
    store.delete_file(file_id)  # a second worker on the node never reads the job store
    assert install(store, file_id, digest, cache) == target
    assert sorted(os.listdir(cache)) == [f".{digest}.lock", digest]


def _install_in_child(args: tuple[str, str, str, str]) -> str:
    locator, file_id, digest, cache = args
    target = install(FileJobStore(locator), file_id, digest, cache)
    return ",".join(sorted(os.listdir(target)))


def test_workers_starting_together_extract_once_and_never_see_a_partial_tree(
    tmp_path: Path, store: FileJobStore
) -> None:
    files = [(str(write(tmp_path / "src" / f"m{i}.py", "X = 1\n" * 1000)), f"m{i}.py") for i in range(50)]
    file_id, digest = ship(store, files, Deployment())
    cache = str(tmp_path / "cache")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        seen = pool.map(_install_in_child, [(store.path, file_id, digest, cache)] * 12)
    assert set(seen) == {",".join(sorted(name for _, name in files))}
    assert sorted(os.listdir(cache)) == [f".{digest}.lock", digest], "no partial extraction left behind"


def test_a_worker_that_lost_the_race_to_rename_keeps_the_winners_tree(tmp_path: Path) -> None:
    write(tmp_path / "winner" / "m.py", "X = 1\n")
    write(tmp_path / "loser" / "m.py", "X = 2\n")
    _rename_into_place(str(tmp_path / "loser"), str(tmp_path / "winner"))
    assert (tmp_path / "winner" / "m.py").read_text() == "X = 1\n"


def test_a_damaged_zip_is_refused(tmp_path: Path, store: FileJobStore) -> None:
    file_id, _ = shipped(store, tmp_path)
    with pytest.raises(ToilUserError, match="is damaged"):
        install(store, file_id, "0" * 64, str(tmp_path / "cache"))
    assert os.listdir(tmp_path / "cache") == [f".{'0' * 64}.lock"]


def test_a_worker_imports_the_shipped_copy_as_main_even_where_the_leaders_is_visible(
    tmp_path: Path, store: FileJobStore, restored: None
) -> None:
    leader_dir = tmp_path / "leader"
    main = main_module(write(leader_dir / "deploy_flow_x.py", "WHERE = 'shipped'\n"))
    deployment = record_deployment(store, None, None, True, main)
    write(leader_dir / "deploy_flow_x.py", "WHERE = 'leader'\n")  # changed since: a worker must not take it
    adopt(store, deployment, str(tmp_path / "cache"))
    module = sys.modules["__main__"]
    assert module is sys.modules["deploy_flow_x"] and module.WHERE == "shipped"
    assert sys.path[0] == os.path.join(tmp_path, "cache", str(deployment.digest))


def test_the_leaders_pythonpath_is_passed_on_and_debug_job_prefers_the_leaders_copy(
    tmp_path: Path, store: FileJobStore, restored: None
) -> None:
    leader_dir = tmp_path / "leader"
    write(leader_dir / "deploy_flow_y.py", "WHERE = 'leader'\n")
    deployment = Deployment("deploy_flow_y", str(leader_dir), "no-such-file", "0" * 64, "/opt/a:/opt/b")
    adopt(store, deployment, str(tmp_path / "cache"), prefer_local=True)
    assert sys.modules["__main__"].WHERE == "leader"
    assert os.environ["PYTHONPATH"] == "/opt/a:/opt/b" and sys.path[-2:] == ["/opt/a", "/opt/b"]


def test_a_script_named_like_a_standard_module_is_loaded_privately(tmp_path: Path, restored: None) -> None:
    write(tmp_path / "json.py", "MINE = True\n")
    module = import_main("json", str(tmp_path))
    assert module.MINE and sys.modules["__main__"] is module and sys.modules["json"] is not module


def test_only_batch_systems_whose_workers_are_fresh_processes_auto_deploy() -> None:
    assert not LocalBatchSystem.auto_deploys and SlurmBatchSystem.auto_deploys
