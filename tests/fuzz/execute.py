"""Running one case: in this process up to the point where its workflow would start, or for real.

In-process, a case runs like the command would: its own working directory,
HOME and TMPDIR (all inside the case's directory), ``sys.argv``, and standard
output and error redirected at the file-descriptor level, under the sandbox's
audit hook. Everything a case may change in this process (environment, working
directory, logging set-up, signal handlers, umask, caches) is put back after it.
The workflow runtime is stopped at its gate (``WouldRun``) once the job store
exists and the graph is built and journaled, just before a batch system would
start jobs; a few such accepted cases per kind also run for real, in a subprocess.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from tests.fuzz import sandbox
from tests.fuzz.core import Case, Outcome

REPO = Path(__file__).resolve().parents[2]
PROGS = {"cwl": "toil-cwl-runner", "wdl": "toil-wdl-runner", "toil": "toil"}
SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGCHLD,
    signal.SIGALRM,
    signal.SIGPIPE,
)


class WouldRun(BaseException):
    """The case got as far as starting its workflow (a BaseException: no 'except Exception' swallows it)."""


class CaseTimeout(BaseException):
    """An in-process case ran longer than its limit (the alarm interrupts it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


class _NoBatch:
    def shutdown(self) -> None:
        pass


@contextlib.contextmanager
def gate() -> Iterator[None]:
    """Stop the runtime where it would start jobs: after the job store, the graph and its journal record."""
    from toil.runtime.batch import batch_system_class
    from toil.runtime.worker import attempt as worker
    from toil.runtime.workflow import Workflow

    saved = (Workflow._start_batch, Workflow._run, worker.run_attempt)

    def start_batch(self: Any) -> Any:
        batch_system_class(self.config.batchSystem)  # an unknown name is still refused
        return _NoBatch()

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise WouldRun()

    Workflow._start_batch, Workflow._run = start_batch, stop
    worker.run_attempt = stop  # 'toil debug-job' runs a job in its own process
    try:
        yield
    finally:
        Workflow._start_batch, Workflow._run, worker.run_attempt = saved


def prepare(case: Case, case_dir: Path, fixtures: dict[str, Path]) -> None:
    """Write the case's files, links and job store copy into its (fresh) directory."""
    if case_dir.exists():
        shutil.rmtree(case_dir)
    for sub in ("home", "tmp"):
        (case_dir / sub).mkdir(parents=True)
    for name, data in case.files.items():
        path = case_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, target in case.links.items():
        link = case_dir / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(target)
    if case.fixture:
        shutil.copytree(fixtures[case.fixture], case_dir / "store", symlinks=True)
        for rel, op, offset, data in case.corrupt:
            matches = sorted((case_dir / "store").glob(rel))
            _corrupt(matches[0] if matches else case_dir / "store" / rel, op, offset, data)


def _corrupt(path: Path, op: str, offset: int, data: bytes) -> None:
    if op == "delete":
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        return
    if op == "replace" and "*" not in path.name and not path.is_dir():
        path.write_bytes(data)  # a file the store may lack (leader.json of a finished run)
        return
    if not path.is_file():
        return
    raw = bytearray(path.read_bytes())
    at = offset % (len(raw) + 1)
    if op == "truncate":
        raw = raw[:at]
    elif op == "flip" and raw:
        raw[at % len(raw)] ^= (data[0] if data else 0xFF) or 1
    elif op == "insert":
        raw[at:at] = data
    elif op == "replace":
        raw = bytearray(data)
    path.write_bytes(bytes(raw))


def case_env(case_dir: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOIL_", "CWLTOOL_"))}
    env.update(
        HOME=str(case_dir / "home"),
        TMPDIR=str(case_dir / "tmp"),
        XDG_CACHE_HOME=str(cache),
        TOIL_RETRY_BACKOFF_SECONDS="0.05",
        PYTHONPATH=str(REPO),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    return env


# ---------------------------------------------------------------------------------------------- in-process
class _ProcessState:
    """What a case may change in this process, saved before and put back after it."""

    def __init__(self) -> None:
        self.cwd = os.getcwd()
        self.environ = dict(os.environ)
        self.argv = list(sys.argv)
        self.path = list(sys.path)
        self.tempdir = tempfile.tempdir
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.signals = {s: signal.getsignal(s) for s in SIGNALS}
        self.loggers = {
            name: _logger_state(lg)
            for name, lg in logging.Logger.manager.loggerDict.items()
            if isinstance(lg, logging.Logger)
        }
        self.root = _logger_state(logging.getLogger())
        self.disable = logging.root.manager.disable
        self.excepthook = sys.excepthook
        self.main_module = sys.modules.get("__main__")

    def restore(self) -> None:
        os.chdir(self.cwd)
        os.environ.clear()
        os.environ.update(self.environ)
        sys.argv[:] = self.argv
        sys.path[:] = self.path
        tempfile.tempdir = self.tempdir
        os.umask(self.umask)
        for s, h in self.signals.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(s, h if h is not None else signal.SIG_DFL)
        for name, lg in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(lg, logging.Logger):
                _set_logger_state(lg, self.loggers.get(name, ([], logging.NOTSET, True, False)))
        _set_logger_state(logging.getLogger(), self.root)
        logging.disable(self.disable)
        sys.excepthook = self.excepthook
        if self.main_module is not None:
            sys.modules["__main__"] = self.main_module  # 'toil debug-job' adopts the workflow's script
        sys.modules.pop("_toil_user_main", None)
        _forget_caches()


def _logger_state(lg: logging.Logger) -> tuple[list[logging.Handler], int, bool, bool]:
    return list(lg.handlers), lg.level, lg.propagate, lg.disabled


def _set_logger_state(lg: logging.Logger, state: tuple[list[logging.Handler], int, bool, bool]) -> None:
    handlers, level, propagate, disabled = state
    for h in lg.handlers:
        if h not in handlers and isinstance(h, logging.FileHandler):
            h.close()
    lg.handlers[:] = handlers
    lg.level, lg.propagate, lg.disabled = level, propagate, disabled


def _forget_caches() -> None:
    """Per-process caches of the front ends, which would otherwise grow with every case."""
    with contextlib.suppress(ImportError):
        from toil.compiler.wdl import document

        document._documents.clear()
    with contextlib.suppress(ImportError):
        from toil.compiler.cwl import loading

        loading._roots.clear()
        loading._runtime.clear()
    with contextlib.suppress(ImportError):
        from toil.runtime.observe import logs

        logs._files.clear()


def _entry(case: Case) -> tuple[str, Callable[[], Any]]:
    if case.entry == "python":
        import runpy

        script = case.argv[0]
        return os.path.basename(script), lambda: runpy.run_path(script, run_name="__main__") and None
    import importlib

    module = sandbox.ENTRIES[case.entry][0]
    args = list(case.argv)
    return PROGS[case.entry], lambda: importlib.import_module(module).main(args)


def run_in_process(case: Case, case_dir: Path, cache: Path, extra_roots: list[str], limit: int = 60) -> Outcome:
    """Run the case here, stopped at the gate; stdout/stderr captured at the descriptor level."""
    prog, call = _entry(case)
    state = _ProcessState()
    out_path, err_path = case_dir / ".stdout", case_dir / ".stderr"
    code: int | None = None
    tb = timed_out = False
    started = time.time()
    guard = sandbox.install()
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe, _redirected(fo.fileno(), fe.fileno()):
        try:
            os.chdir(case_dir)
            os.environ.clear()
            os.environ.update(case_env(case_dir, cache))
            tempfile.tempdir = None
            sys.argv[:] = list(case.argv) if case.entry == "python" else [prog, *case.argv]
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(limit)
            guard.begin([str(case_dir), str(cache), *extra_roots])
            with gate():
                code = _exit_code(call())
        except WouldRun:
            code = None
        except CaseTimeout:
            code, timed_out = 124, True
        except SystemExit as e:
            code = _exit_code(e.code)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: B036 - what the interpreter would do
            code, tb = _uncaught(e, prog)
        finally:
            signal.alarm(0)
            violations = guard.end()
            sys.stdout.flush()
            sys.stderr.flush()
            state.restore()
    return Outcome(
        code, _read(out_path), _read(err_path), tb, violations, timed_out=timed_out, seconds=time.time() - started
    )


def _uncaught(e: BaseException, prog: str) -> tuple[int, bool]:
    """What toil's excepthook does with an exception that ends the program."""
    from toil.exceptions import ToilUserError

    if isinstance(e, ToilUserError):
        text = " ".join(str(e).split("\n"))
        sys.stderr.write(f"{prog}: error: {text}\n")
        return (getattr(e, "exit_code", 1) or 1), False
    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    return 1, True


def _exit_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    sys.stderr.write(f"{value}\n")
    return 1


@contextlib.contextmanager
def _redirected(out_fd: int, err_fd: int) -> Iterator[None]:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------- for real
def run_for_real(case: Case, case_dir: Path, cache: Path, extra_roots: list[str], timeout: float) -> Outcome:
    """Run the case's command in a subprocess under the sandbox (its own session, killed on timeout)."""
    report = case_dir / ".sandbox-report"
    report.write_text("")
    roots = ":".join([str(case_dir), str(cache), *extra_roots])
    cmd = [sys.executable, "-m", "tests.fuzz.sandbox", str(report), roots, case.entry, *case.argv]
    started = time.time()
    proc = subprocess.Popen(
        cmd,
        cwd=case_dir,
        env=case_env(case_dir, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_session(proc.pid)
        out, err = proc.communicate()
    _kill_session(proc.pid)  # anything it left behind
    text = err.decode("utf-8", "replace")
    violations = [x for x in report.read_text().splitlines() if x]
    return Outcome(
        proc.returncode,
        out.decode("utf-8", "replace"),
        text,
        False,
        violations,
        ran=True,
        timed_out=timed_out,
        seconds=time.time() - started,
    )


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session the case's subprocess leads (it and what it started, only)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
            if int(data[data.rindex(b")") + 2 :].split()[3]) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError):
            pass
