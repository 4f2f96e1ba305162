"""Security basics on real runs of a Python, a CWL and a WDL workflow.

* What the engine writes (job store, work directory) is private: directories 0700, files 0600 (0700 for
  executables), whatever the user's umask. What the user asked for (``--outdir``, exported files) follows
  the user's umask, as cwltool does.
* Secrets in the leader's environment never reach stdout, stderr, the job store, the logs, ``toil stats``
  or ``toil status``; jobs still get them from the environment they inherit.
* No shell unless asked: a CWL tool gets its arguments verbatim as argv entries; ShellCommandRequirement
  uses the shell; a WDL command gets an interpolated string as data when the user quotes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
SCRIPT = HERE / "scripts" / "security_workflow.py"
CWL_DOCS = HERE / "cwl_docs"
WDL_DIR = HERE / "wdl"
BIN = Path(sys.executable).parent
SECRET_NAMES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "TOIL_TEST_API_TOKEN",
    "MY_API_TOKEN",
    "SETENV_PASSWORD",
)
COMMON = ["--stats", "--logLevel", "DEBUG", "--retryCount", "0", "--clean", "never", "--cleanWorkDir", "never"]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def run(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    umask: int = 0o022,
    timeout: float = 180,
) -> subprocess.CompletedProcess:
    """Run a command as a user with ``umask`` would."""
    full_env = {**os.environ, "TOIL_RETRY_BACKOFF_SECONDS": "0.05", **(env or {})}
    return subprocess.run(
        argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, preexec_fn=lambda: os.umask(umask)
    )


def toil(*args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "toil.cli.toil_main", *args])


class Run:
    """One finished run and where it wrote."""

    def __init__(self, base: Path, secrets: dict[str, str]) -> None:
        self.base = base
        self.secrets = secrets
        self.js = base / "js"
        self.work = base / "work"
        self.logs = base / "logs"
        self.check = base / "check.json"
        self.out = base / "out"
        self.data = base / "data.txt"
        self.work.mkdir()
        self.data.write_text("input data\n")
        self.proc: subprocess.CompletedProcess | None = None

    def options(self) -> list[str]:
        return [*COMMON, "--workDir", str(self.work), "--writeLogs", str(self.logs)]

    def env(self) -> dict[str, str]:
        return dict(self.secrets)


def plant_secrets() -> dict[str, str]:
    """Unique values that cannot appear anywhere by chance."""
    return {name: f"zz{name.lower().replace('_', '')}{uuid.uuid4().hex}" for name in SECRET_NAMES}


@pytest.fixture(scope="module")
def python_run(tmp_path_factory) -> Run:
    r = Run(tmp_path_factory.mktemp("py"), plant_secrets())
    tool = r.base / "tool.sh"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(0o755)
    r.proc = run(
        [
            sys.executable,
            str(SCRIPT),
            str(r.js),
            "--input",
            str(r.data),
            "--tool",
            str(tool),
            "--check",
            str(r.check),
            "--fail",
            "--setEnv",
            "SETENV_PASSWORD",
            *r.options(),
        ],
        env=r.env(),
        cwd=r.base,
    )
    return r


@pytest.fixture(scope="module")
def cwl_run(tmp_path_factory) -> Run:
    r = Run(tmp_path_factory.mktemp("cwl"), plant_secrets())
    r.proc = run(
        [
            str(BIN / "toil-cwl-runner"),
            "--no-container",
            "--jobStore",
            str(r.js),
            "--outdir",
            str(r.out),
            "--preserve-environment",
            "MY_API_TOKEN",
            "--preserve-environment",
            "GITHUB_TOKEN",
            *r.options(),
            str(CWL_DOCS / "security_wf.cwl"),
            "--check",
            str(r.check),
            "--data",
            str(r.data),
        ],
        env=r.env(),
        cwd=r.base,
    )
    return r


@pytest.fixture(scope="module")
def wdl_run(tmp_path_factory) -> Run:
    r = Run(tmp_path_factory.mktemp("wdl"), plant_secrets())
    inputs = json.dumps({"security.check": str(r.check), "security.data": str(r.data)})
    r.proc = run(
        [
            str(BIN / "toil-wdl-runner"),
            str(WDL_DIR / "security.wdl"),
            "-i",
            inputs,
            "-o",
            str(r.out),
            "--jobStore",
            str(r.js),
            *r.options(),
        ],
        env=r.env(),
        cwd=r.base,
    )
    return r


RUNS = ["python_run", "cwl_run", "wdl_run"]


def finished(request: Any, name: str) -> Run:
    r: Run = request.getfixturevalue(name)
    assert r.proc is not None
    assert r.proc.returncode != 0, "the workflow has a failing job: the run must fail"
    assert r.js.is_dir(), r.proc.stderr
    return r


# ---------------------------------------------------------------------------------------------- permissions


def loose_modes(root: Path, inputs: list[Path]) -> list[str]:
    """Directories not 0700 (or stricter) and regular files not 0600/0700 (or stricter) under root.

    The user's input files themselves, hard-linked into a job's directory (read in place), are theirs.
    """
    bad = []
    theirs = {(s.st_dev, s.st_ino) for s in (os.stat(p) for p in inputs)}

    def check(path: str) -> None:
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if (st.st_dev, st.st_ino) in theirs:
            return
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            if mode & ~0o700:
                bad.append(f"{oct(mode)} {os.path.relpath(path, root.parent)}")

    check(str(root))
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            check(os.path.join(parent, name))
    return bad


def tree_stats(root: Path) -> tuple[int, int]:
    dirs = files = 0
    for _, ds, fs in os.walk(root):
        dirs += len(ds)
        files += len(fs)
    return dirs, files


@pytest.mark.parametrize("name", RUNS)
def test_job_store_and_work_directory_are_private_under_a_permissive_umask(request, name):
    r = finished(request, name)
    inputs = [p for p in r.base.iterdir() if p.is_file()]
    assert loose_modes(r.js, inputs) == []
    work_dirs = [p for p in r.work.iterdir()]
    assert work_dirs, "--cleanWorkDir never keeps the workflow's work directory"
    for path in work_dirs:
        assert loose_modes(path, inputs) == []
    # the walk looked at something: the job store holds files of several kinds, and the jobs left files
    assert tree_stats(r.js)[1] >= 10
    assert sum(sum(tree_stats(p)) for p in work_dirs) >= 1


def test_files_read_into_a_job_keep_their_executable_bit(python_run):
    r = python_run
    executables = [
        p
        for p in Path(r.js).rglob("*")
        if p.is_file() and not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) == 0o700
    ]
    assert executables, "the imported executable is stored executable"
    copies = [p for p in r.work.rglob("tool.sh")]
    assert copies and all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in copies)


@pytest.mark.parametrize("front_end", ["cwl", "wdl", "python"])
def test_outputs_the_user_asked_for_follow_the_users_umask(tmp_path, front_end):
    data = tmp_path / "data.txt"
    data.write_text("input data\n")
    out = tmp_path / "out"
    common = ["--jobStore", str(tmp_path / "js"), "--workDir", str(tmp_path), "--logLevel", "WARNING"]
    if front_end == "cwl":
        job = tmp_path / "job.json"
        job.write_text(
            json.dumps(
                {"check": str(tmp_path / "check.json"), "data": {"class": "File", "path": str(data)}, "fail": False}
            )
        )
        p = run(
            [
                str(BIN / "toil-cwl-runner"),
                "--no-container",
                "--outdir",
                str(out),
                *common,
                str(CWL_DOCS / "security_wf.cwl"),
                str(job),
            ],
            umask=0o027,
            cwd=tmp_path,
        )
    elif front_end == "wdl":
        inputs = json.dumps(
            {"security.check": str(tmp_path / "check.json"), "security.data": str(data), "security.fail": False}
        )
        p = run(
            [str(BIN / "toil-wdl-runner"), str(WDL_DIR / "security.wdl"), "-i", inputs, "-o", str(out), *common],
            umask=0o027,
            cwd=tmp_path,
        )
    else:
        code = (
            "import sys\nfrom toil.common import Toil\nfrom toil.job import Job\n"
            "def work(job):\n"
            "    path = job.fileStore.getLocalTempFile()\n"
            "    open(path, 'w').write('x')\n"
            "    return job.fileStore.writeGlobalFile(path)\n"
            "if __name__ == '__main__':\n"
            "    options = Job.Runner.getDefaultArgumentParser().parse_args()\n"
            "    with Toil(options) as toil:\n"
            "        fid = toil.start(Job.wrapJobFn(work, cores=0.5, memory='20M', disk='5M'))\n"
            f"        toil.exportFile(fid, 'file://{out}/made.txt')\n"
        )
        script = tmp_path / "export_wf.py"
        script.write_text(code)
        p = run([sys.executable, str(script), *common[1:]], umask=0o027, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    files = [f for f in out.rglob("*") if f.is_file()]
    dirs = [d for d in out.rglob("*") if d.is_dir()]
    assert files
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o640)}
    assert {oct(stat.S_IMODE(d.stat().st_mode)) for d in dirs} <= {oct(0o750)}


# ---------------------------------------------------------------------------------------------- secrets


def test_jobs_still_get_the_environment_they_need(python_run, cwl_run, wdl_run):
    for r, passed in (
        (python_run, SECRET_NAMES),
        (cwl_run, ("MY_API_TOKEN", "GITHUB_TOKEN")),  # cwltool passes only these
        (wdl_run, SECRET_NAMES[:-1]),
    ):
        assert r.check.exists(), r.proc.stderr if r.proc else ""
        got = json.loads(r.check.read_text())
        for name, value in got.items():
            expected = r.secrets[name] if name in passed else ""
            assert value == digest(expected), (r.base.name, name)


def _texts(r: Run) -> dict[str, bytes]:
    """Everything the engine wrote or said about the run, by where it came from."""
    assert r.proc is not None
    found = {"stdout": r.proc.stdout.encode(), "stderr": r.proc.stderr.encode()}
    for root in (r.js, r.logs, r.work):
        for path in Path(root).rglob("*"):
            if path.is_file() and not path.is_symlink():
                found[str(path)] = path.read_bytes()
    for args in (
        ("stats", str(r.js), "--raw"),
        ("stats", str(r.js)),
        ("status", str(r.js)),
        ("status", str(r.js), "--failed", "--printLogs"),
        ("status", str(r.js), "--printStatus"),
    ):
        p = toil(*args)
        found[" ".join(args[:1] + args[2:])] = (p.stdout + p.stderr).encode()
    return found


@pytest.mark.parametrize("name", RUNS)
def test_secrets_never_reach_output_job_store_logs_stats_or_status(request, name):
    r = finished(request, name)
    texts = _texts(r)
    assert len(texts) > 15
    # the places were worth looking at: the logs and the failure are there
    assert any(b"failing on purpose" in t or b"fails on purpose" in t for t in texts.values())
    assert os.listdir(r.logs), "--writeLogs kept the jobs' logs"
    leaks = sorted(
        f"{secret} in {where}"
        for where, text in texts.items()
        for secret, value in r.secrets.items()
        if value.encode() in text
    )
    assert leaks == []


def test_setenv_of_a_non_secret_variable_is_still_kept_for_workers(tmp_path):
    """Only secret-looking names are held back from the job store; other --setEnv values are kept."""
    js = tmp_path / "js"
    script = tmp_path / "env_wf.py"
    script.write_text(
        "import os\nfrom toil.common import Toil\nfrom toil.job import Job\n"
        "def work(job):\n    return os.environ.get('PLAIN_SETTING'), os.environ.get('DB_PASSWORD')\n"
        "if __name__ == '__main__':\n"
        "    options = Job.Runner.getDefaultArgumentParser().parse_args()\n"
        "    with Toil(options) as toil:\n"
        "        print('RESULT', toil.start(Job.wrapJobFn(work, cores=0.5, memory='20M', disk='5M')))\n"
    )
    p = run(
        [
            sys.executable,
            str(script),
            str(js),
            "--clean",
            "never",
            "--logLevel",
            "WARNING",
            "--setEnv",
            "PLAIN_SETTING=plain-value",
            "--setEnv",
            "DB_PASSWORD=zzpasswordvalue",
        ],
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert "RESULT ('plain-value', 'zzpasswordvalue')" in p.stdout
    stored = json.loads((js / "toil.json").read_text())["config"]["environment"]
    assert stored.get("PLAIN_SETTING") == "plain-value"
    assert "zzpasswordvalue" not in json.dumps(stored)


# ---------------------------------------------------------------------------------------------- no shell

ARGV_TOOL = """
cwlVersion: v1.2
class: CommandLineTool
{requirements}
baseCommand: [python3, -c, "import sys, json; print(json.dumps(sys.argv[1:]))"]
inputs:
  words: {{type: 'string[]', inputBinding: {{position: 1}}}}
arguments: {arguments}
stdout: argv.json
outputs:
  argv: {{type: stdout}}
"""

NASTY = [
    "a b",
    "$(echo x)",
    "; touch pwned",
    "*",
    "x | cat",
    "'single'",
    '"double"',
    "`id`",
    "$HOME",
    "&&",
    "> redirected",
    "back\\slash",
    "new\nline",
]


def _argv_of(tmp_path: Path, doc: str, words: list[str]) -> list[str]:
    tool = tmp_path / "argv.cwl"
    tool.write_text(doc)
    (tmp_path / "job.json").write_text(json.dumps({"words": words}))
    out = tmp_path / "out"
    p = run(
        [
            str(BIN / "toil-cwl-runner"),
            "--no-container",
            "--quiet",
            "--outdir",
            str(out),
            str(tool),
            str(tmp_path / "job.json"),
        ],
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    return list(json.loads(Path(json.loads(p.stdout)["argv"]["path"]).read_text()))


def test_cwl_arguments_reach_the_tool_verbatim_without_a_shell(tmp_path):
    doc = ARGV_TOOL.format(requirements="", arguments=json.dumps(["--literal", "$(inputs.words[0])", "a;b c"]))
    argv = _argv_of(tmp_path, doc, NASTY)
    assert argv == ["--literal", "a b", "a;b c", *NASTY]
    assert not (tmp_path / "pwned").exists() and not list(tmp_path.rglob("pwned"))
    assert not list(tmp_path.rglob("redirected"))


def test_cwl_shell_command_requirement_uses_the_shell_when_asked(tmp_path):
    arguments = [{"valueFrom": "first && echo", "shellQuote": False}]
    doc = ARGV_TOOL.format(requirements="requirements: {ShellCommandRequirement: {}}", arguments=json.dumps(arguments))
    tool = tmp_path / "argv.cwl"
    tool.write_text(doc)
    (tmp_path / "job.json").write_text(json.dumps({"words": ["$(echo x)", "a b"]}))
    p = run(
        [
            str(BIN / "toil-cwl-runner"),
            "--no-container",
            "--quiet",
            "--outdir",
            str(tmp_path / "out"),
            str(tool),
            str(tmp_path / "job.json"),
        ],
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    text = Path(json.loads(p.stdout)["argv"]["path"]).read_text()
    # shellQuote: false let the shell see '&&': python printed ["first"], then echo printed the inputs, which
    # were quoted for the shell, verbatim
    lines = text.splitlines()
    assert json.loads(lines[0]) == ["first"]
    assert lines[1:] == ["$(echo x) a b"]


def test_wdl_interpolated_string_arrives_as_data_when_quoted(tmp_path):
    doc = tmp_path / "argv.wdl"
    doc.write_text(
        "version 1.0\n"
        "task argv {\n"
        "  input { String s\n Array[String] many }\n"
        "  command <<<\n"
        "    python3 -c 'import sys, json; print(json.dumps(sys.argv[1:]))' '~{s}' ~{sep=' ' many}\n"
        "  >>>\n"
        "  output { String out = read_string(stdout()) }\n"
        "}\n"
    )
    s = 'a b $(touch pwned) ; * | `id` $HOME "dq" > redirected'
    p = run(
        [
            str(BIN / "toil-wdl-runner"),
            str(doc),
            "-i",
            json.dumps({"argv.s": s, "argv.many": ["x", "y"]}),
            "-o",
            str(tmp_path / "out"),
            "--logLevel",
            "WARNING",
        ],
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    argv = json.loads(json.loads(p.stdout)["argv.out"])
    assert argv == [s, "x", "y"]
    assert not list(tmp_path.rglob("pwned")) and not list(tmp_path.rglob("redirected"))


# Where a caller asks for a shell: apiDockerCall's list of argument lists is Toil's documented pipeline, run by
# bash in the container with every argument quoted (checked below); toil.lib.bioio.system given a string is
# Toil's shell command line (a list runs as given; both tested in tests/unit/lib/test_toil_helpers.py).
ASKED_FOR_A_SHELL = {
    "lib/docker.py": 'entrypoint or ["/bin/bash", "-c"]',
    "lib/bioio.py": 'argv = ["/bin/sh", "-c", command] if isinstance(command, str)',
}


def test_the_engine_never_runs_commands_through_a_shell():
    """Every subprocess the engine starts takes an argv list; a shell only where a document asks for one."""
    src = Path(__file__).resolve().parents[2] / "src" / "toil"
    found = []
    for path in src.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(
                r"shell\s*=\s*True|os\.system\(|os\.popen\(|[\"'](/bin/)?(ba)?sh[\"']\s*,\s*[\"']-c[\"']", line
            ):
                allowed = ASKED_FOR_A_SHELL.get(str(path.relative_to(src)))
                if not (allowed and allowed in line):
                    found.append(f"{path.relative_to(src)}:{n}: {line.strip()}")
    assert found == []


def test_a_docker_call_pipeline_quotes_every_argument():
    from toil.lib.docker import _command

    command, entrypoint = _command([["echo", "$(touch pwned); `id`"], ["tr", "a-z", "A-Z"]], None)
    assert entrypoint == ["/bin/bash", "-c"]
    assert command == ["set -eo pipefail && echo '$(touch pwned); `id`' | tr a-z A-Z"]
    assert _command(["echo", "a b; c"], None) == ("echo 'a b; c'", None)
