"""A guard against writes and signals outside a fuzz case's directories, built on Python's audit hooks.

While a case runs, every file opened for writing, directory made, file removed,
renamed, linked or re-moded, and every signal sent, passes through ``Guard.hook``.
A write outside the allowed roots (the case's directory, the run's shared cache)
or a signal to a process that is not one of ours is refused with EACCES (as an
unprivileged user would be refused) and recorded. These sessions run as root, so
the guard is also what keeps a fuzzed ``toil clean /`` or ``toil kill`` harmless.

As a program, it runs one command of a real (subprocess) case under the guard::

    python -m tests.fuzz.sandbox REPORT ROOTS ENTRY [ARGS...]

ROOTS is a colon-separated list of allowed directories; violations are appended
to REPORT, one per line. Processes forked from it (the runtime's workers) inherit
the hook; programs they exec (a CWL tool, a WDL task's shell) do not.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
ALWAYS_ALLOWED = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
ALWAYS_ALLOWED_UNDER = ("/dev/fd/", "/proc/self/", "/dev/pts/", "/memfd:")
PROC_PID = re.compile(r"^/proc/(\d+)/")
# event -> indexes of the arguments that are paths written to
PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.mkdir": (0,),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
}
# Events that act on a symbolic link itself, not on what it points to (unlinking a link into the
# read-only seed data is fine; writing through it is not).
NO_FOLLOW = {
    "os.mkdir",
    "os.remove",
    "os.rmdir",
    "os.rename",
    "os.symlink",
    "os.link",
    "os.mkfifo",
    "os.mknod",
    "shutil.rmtree",
    "shutil.move",
}
DIR_FD_ARG = {
    "os.mkdir": 2,
    "os.remove": 1,
    "os.rmdir": 1,
    "os.symlink": 2,
    "os.chmod": 2,
    "os.chown": 3,
    "os.utime": 3,
    "shutil.rmtree": 1,
}


class Guard:
    """The audit hook's state: which roots are writable now, and what was refused."""

    def __init__(self) -> None:
        self.active = False
        self.roots: tuple[str, ...] = ()
        self.violations: list[str] = []
        self.root_pid = os.getpid()
        self.report_fd: int | None = None
        self._busy = False
        self.show_stack = bool(os.environ.get("FUZZ_SANDBOX_STACK"))

    def begin(self, roots: list[str]) -> None:
        expanded: list[str] = []
        for r in roots:
            for p in (os.path.abspath(r), os.path.realpath(r)):
                if p not in expanded:
                    expanded.append(p.rstrip("/") + "/")
        self.roots = tuple(expanded)
        self.violations = []
        self.root_pid = os.getpid()
        self.active = True

    def end(self) -> list[str]:
        self.active = False
        return list(self.violations)

    # ------------------------------------------------------------------ the hook
    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or self._busy:
            return
        if event == "open":
            if not _opens_for_writing(args):
                return
            self._check_path(event, args[0], None)
        elif event in PATH_EVENTS:
            if event == "os.mkdir" and _is_dir(args[0], _dir_fd(event, args)):
                return  # makedirs(exist_ok=True) of a directory that is there writes nothing
            for i in PATH_EVENTS[event]:
                self._check_path(event, args[i], _dir_fd(event, args), follow=event not in NO_FOLLOW)
        elif event in ("os.kill", "os.killpg"):
            self._check_signal(event, int(args[0]), int(args[1]))

    def _check_path(self, event: str, path: Any, dir_fd: int | None, follow: bool = True) -> None:
        if isinstance(path, int) or path is None:
            return
        self._busy = True
        try:
            full = _absolute(path, dir_fd, follow)
            if full is None or self._allowed(full):
                return
        finally:
            self._busy = False
        self._refuse(f"{event} {full}", full)

    def _allowed(self, full: str) -> bool:
        if full in ALWAYS_ALLOWED or full.startswith(ALWAYS_ALLOWED_UNDER):
            return True
        proc = PROC_PID.match(full)
        if proc:  # e.g. /proc/PID/clear_refs of a worker it started
            return _descends_from(int(proc.group(1)), self.root_pid)
        probe = full.rstrip("/") + "/"
        return probe.startswith(self.roots)

    def _check_signal(self, event: str, target: int, sig: int) -> None:
        if sig == 0:
            return
        self._busy = True
        try:
            ok = self._signal_allowed(event, target)
        finally:
            self._busy = False
        if not ok:
            self._refuse(f"{event} {target} signal {sig}", str(target))

    def _signal_allowed(self, event: str, target: int) -> bool:
        own_group = os.getpgid(0) == self.root_pid  # a subprocess case runs in a session of its own
        if event == "os.kill":
            if target > 0:
                return _descends_from(target, self.root_pid)
            return target == 0 and own_group
        if target == 0 or target == os.getpgid(0):
            return own_group
        return _descends_from(target, self.root_pid)  # a group named by its leader

    def _refuse(self, text: str, path: str) -> None:
        self.violations.append(text)
        if self.show_stack:  # where a refused write comes from, for debugging
            import traceback

            os.write(2, f"fuzz sandbox refused {text}:\n{''.join(traceback.format_stack()[:-2])}".encode())
        if self.report_fd is not None:
            try:
                os.write(self.report_fd, (text.replace("\n", "\\n") + "\n").encode("utf-8", "replace"))
            except OSError:
                pass
        raise PermissionError(errno.EACCES, "Permission denied (fuzz sandbox)", path)


def _opens_for_writing(args: tuple[Any, ...]) -> bool:
    mode, flags = args[1], args[2]
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def _dir_fd(event: str, args: tuple[Any, ...]) -> int | None:
    i = DIR_FD_ARG.get(event)
    value = args[i] if i is not None and i < len(args) else None
    return value if isinstance(value, int) else None


def _absolute(path: Any, dir_fd: int | None, follow: bool = True) -> str | None:
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        return None
    if not os.path.isabs(text) and dir_fd is not None:
        try:
            base = os.readlink(f"/proc/self/fd/{dir_fd}")
        except OSError:
            return None
        text = os.path.join(base, text)
    # through symbolic links: a link in the case's directory may point elsewhere
    if follow:
        return os.path.realpath(text)
    head, name = os.path.split(os.path.normpath(os.path.abspath(text)))
    return os.path.join(os.path.realpath(head), name)


def _is_dir(path: Any, dir_fd: int | None) -> bool:
    if isinstance(path, int):
        return False
    full = _absolute(path, dir_fd, False)
    return full is not None and os.path.isdir(full)


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            return False
        pid = int(data[data.rindex(b")") + 2 :].split()[1])
    return False


GUARD = Guard()
_installed = False


def install() -> Guard:
    """Install the audit hook once per process (audit hooks cannot be removed: the guard is toggled)."""
    global _installed
    if not _installed:
        sys.addaudithook(GUARD.hook)
        _installed = True
    return GUARD


ENTRIES = {
    "cwl": ("toil.cli.cwl_main", "toil-cwl-runner"),
    "wdl": ("toil.cli.wdl_main", "toil-wdl-runner"),
    "toil": ("toil.cli.toil_main", "toil"),
}


def main(argv: list[str]) -> None:
    """Run one real case: REPORT ROOTS ENTRY ARGS... (ENTRY 'python' runs the script ARGS[0])."""
    report, roots, entry, args = argv[0], argv[1], argv[2], argv[3:]
    guard = install()
    guard.report_fd = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    guard.begin([r for r in roots.split(":") if r])
    if entry == "python":
        import runpy

        sys.argv = list(args)
        runpy.run_path(args[0], run_name="__main__")
        return
    import importlib

    module, prog = ENTRIES[entry]
    sys.argv = [prog, *args]
    sys.exit(importlib.import_module(module).main(args))


if __name__ == "__main__":
    main(sys.argv[1:])
