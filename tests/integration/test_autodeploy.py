"""Auto-deployment end to end: workflows in Toil's three layouts run on workers that cannot see the user's code.

Every worker runs under ``unshare --mount`` with a tmpfs over the user's directory, in another working directory
and without PYTHONPATH (tests/integration/autodeploy_batch.py), so it can import the user's modules only from the
copy the leader shipped through the job store: a worker that imported them from the leader's directory would
fail. The jobs report where their modules came from, which must be the worker's cache of the shipped copy.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import toil
from tests.objectstores import aws_locator, s3_env

REPO = Path(__file__).resolve().parents[2]


def _can_hide_directories() -> bool:
    with tempfile.TemporaryDirectory() as d:
        argv = ["unshare", "--mount", "--", "sh", "-c", f"mount -t tmpfs probe {d}"]
        try:
            return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _can_hide_directories(), reason="needs unshare --mount and tmpfs mounts (root)"),
]

# The jobs: the root (a function of the main module) reports where the modules came from on its worker; its child
# (a Job class of another module) and a follow-on check that pickles of both kinds resolved there.
JOBS = """
import json, os, sys
from toil.common import Toil
from toil.job import Job
from {helper} import Adder


def report(job, user_dir):
    import {unused} as unused, {deep} as deep, extra_lib
    adder = job.addChild(Adder(2))
    job.addFollowOnFn(check, adder.rv())
    return {{
        "main": sys.modules["__main__"].__file__,
        "helper": sys.modules[Adder.__module__].__file__,
        "unused": unused.__file__,
        "deep": deep.__file__,
        "user_dir": os.listdir(user_dir),
        "cwd": os.getcwd(),
        "extra": extra_lib.VALUE,
    }}


def check(value):
    assert value == 3, value


if __name__ == "__main__":
    import tests.integration.autodeploy_batch  # registers --batchSystem hidden_dir

    job_store, work_dir, user_dir = sys.argv[1:4]
    options = Job.Runner.getDefaultOptions(job_store)
    options.batchSystem, options.workDir, options.retryCount = "hidden_dir", work_dir, 0
    with Toil(options) as t:
        print("RESULT " + json.dumps(t.start(Job.wrapJobFn(report, user_dir))))
"""

ADDER = """
from toil.job import Job


class Adder(Job):
    def __init__(self, x):
        Job.__init__(self, memory="10M", cores=0.1, disk="1M")
        self.x = x

    def run(self, fileStore):
        return self.x + 1
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def package_tree(root: Path) -> None:
    """Toil's documented package layout: workflow/main.py and util/sort/quick.py, under ``root``."""
    for init in ("workflow", "util", "util/sort"):
        write(root / init / "__init__.py", "")
    write(root / "workflow" / "main.py", JOBS.format(helper="util.sort.quick", unused="workflow.extra", deep="util"))
    write(root / "workflow" / "extra.py", "X = 1\n")
    write(root / "util" / "sort" / "quick.py", ADDER)


def run_hidden(
    tmp_path: Path, argv: list[str], cwd: Path, hide: Path, pythonpath: list[str], store: str = "file"
) -> subprocess.CompletedProcess[str]:
    """Run the leader; its workers see ``hide`` empty; a module only on the leader's PYTHONPATH (extra_lib)."""
    extra = tmp_path / "extra"
    write(extra / "extra_lib.py", "VALUE = 'from the leader PYTHONPATH'\n")
    (tmp_path / "worker-cwd").mkdir()
    (tmp_path / "work").mkdir()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(extra), *pythonpath]),
        TOIL_TEST_HIDE=str(hide),
        TOIL_TEST_WORKER_CWD=str(tmp_path / "worker-cwd"),
        TOIL_TEST_WORKER_PYTHON=sys.executable,
    )
    locator = f"file:{tmp_path / 'js'}"
    if store == "aws":  # workers that share no file system with the leader: the code comes through S3
        env.update(s3_env("moto"))
        locator = aws_locator("deploy")
    args = [locator, str(tmp_path / "work"), str(hide)]
    return subprocess.run([*argv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def check_result(p: subprocess.CompletedProcess[str], tmp_path: Path) -> dict[str, object]:
    assert p.returncode == 0, p.stderr[-4000:]
    result = json.loads(p.stdout.split("RESULT ", 1)[1])
    cache = str(tmp_path / "work") + os.sep
    for key in ("main", "helper", "unused", "deep"):
        assert str(result[key]).startswith(cache) and f"{os.sep}deploy{os.sep}" in str(result[key]), (key, result)
    assert result["user_dir"] == [], "the worker saw the user's directory"
    assert not str(result["cwd"]).startswith(str(tmp_path / "user"))
    assert result["extra"] == "from the leader PYTHONPATH"
    return result


@pytest.mark.parametrize("store", ["file", "aws"])
def test_a_script_ships_with_all_its_sibling_modules_and_packages(tmp_path: Path, store: str) -> None:
    user = tmp_path / "user"
    write(user / "flow.py", JOBS.format(helper="helper", unused="unused", deep="sub.deep"))
    write(user / "helper.py", ADDER)
    write(user / "unused.py", "X = 1\n")  # imported by no module on the leader
    write(user / "sub" / "__init__.py", "")
    write(user / "sub" / "deep.py", "Y = 2\n")
    (user / "fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    p = run_hidden(tmp_path, [sys.executable, str(user / "flow.py")], tmp_path, user, [], store)
    result = check_result(p, tmp_path)
    assert os.path.basename(str(result["main"])) == "flow.py"
    warnings = [line for line in p.stderr.splitlines() if "native code" in line]
    assert len(warnings) == 1 and "fast.cpython-311-x86_64-linux-gnu.so" in warnings[0], p.stderr[-3000:]


def test_a_module_run_with_dash_m_ships_its_package_hierarchy(tmp_path: Path) -> None:
    user = tmp_path / "user"
    package_tree(user)
    p = run_hidden(tmp_path, [sys.executable, "-m", "workflow.main"], user, user, [])
    result = check_result(p, tmp_path)
    assert str(result["helper"]).endswith(os.path.join("util", "sort", "quick.py"))


def make_venv(where: Path) -> Path:
    """A --system-site-packages virtualenv (Toil's documented setup); its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)], check=True)
    [site_dir] = (where / "lib").glob("python*/site-packages")
    return site_dir


def toil_path() -> list[str]:
    """Where this Toil and its dependencies are, for a virtualenv whose system site-packages lack them."""
    return [os.path.dirname(os.path.dirname(toil.__file__)), *site.getsitepackages()]


def test_a_package_installed_in_a_virtualenv_ships_its_site_packages(tmp_path: Path) -> None:
    user = tmp_path / "user"
    site_dir = make_venv(user / "venv")
    package_tree(tmp_path / "src")
    for package in ("workflow", "util"):
        shutil.copytree(tmp_path / "src" / package, site_dir / package)  # as 'pip install .' would
    shutil.rmtree(tmp_path / "src")
    p = run_hidden(tmp_path, [str(user / "venv" / "bin" / "python"), "-m", "workflow.main"], user, user, toil_path())
    result = check_result(p, tmp_path)
    assert f"{os.sep}site-packages{os.sep}" not in str(result["main"])


def test_a_package_installed_with_pip_install_e_is_refused_before_anything_runs(tmp_path: Path) -> None:
    user = tmp_path / "user"
    site_dir = make_venv(user / "venv")
    package_tree(user / "project")
    # What 'pip install -e project' leaves in site-packages: a .pth naming the source tree, and an editable record.
    (site_dir / "__editable__.flow-0.1.pth").write_text(f"{user / 'project'}\n")
    info = site_dir / "flow-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flow\nVersion: 0.1\n")
    (info / "direct_url.json").write_text(
        json.dumps({"url": f"file://{user / 'project'}", "dir_info": {"editable": True}})
    )
    (info / "RECORD").write_text("__editable__.flow-0.1.pth,,\nflow-0.1.dist-info/METADATA,,\n")
    p = run_hidden(tmp_path, [str(user / "venv" / "bin" / "python"), "-m", "workflow.main"], user, user, toil_path())
    assert p.returncode != 0
    errors = [line for line in p.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "installed in development mode ('pip install -e'" in errors[0], p.stderr[-3000:]
    assert "Toil can't auto-deploy" in errors[0]
    assert "SUBMIT" not in p.stderr and "Traceback" not in p.stderr
