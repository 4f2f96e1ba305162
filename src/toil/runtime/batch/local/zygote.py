"""A fork server: a pre-imported child of the leader that forks worker processes.

Starting an interpreter and importing a workflow costs hundreds of
milliseconds; forking a warm, pre-imported process costs about one. The
zygote is forked from the leader before the leader builds large state or
starts threads, imports what jobs need once, and then forks a worker process
whenever the leader asks. Each worker runs in its own process group, so
killing it kills whatever its job started.

If the leader dies (its end of the channel closes), the zygote kills every
worker it forked and exits; each worker also dies with the zygote
(PDEATHSIG). The zygote reports every worker's exit status and resource use.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import gc
import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
from types import FrameType
from typing import Any, Callable

_HEADER = struct.Struct("!I")
PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None = None  # libc's prctl, once loaded (None where there is none)


def _load_prctl() -> None:
    global _prctl
    try:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def set_pdeathsig(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to kill this process when its parent dies."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


class Channel:
    """Length-prefixed pickled messages over non-blocking file descriptors (a pipe pair or a socket)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd
        for fd in {read_fd, write_fd}:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._in = bytearray()
        self._out = bytearray()
        self.closed = False

    def send(self, msg: Any) -> None:
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        self._out += _HEADER.pack(len(data)) + data
        self.flush()

    def flush(self) -> None:
        while self._out:
            try:
                n = os.write(self.write_fd, self._out)
            except BlockingIOError:
                return
            except (BrokenPipeError, ConnectionResetError):
                self._out.clear()
                self.closed = True
                return
            del self._out[:n]

    @property
    def pending_output(self) -> bool:
        return bool(self._out)

    def receive(self) -> list[Any]:
        """Messages available now; sets ``closed`` at end of file."""
        while True:
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except BlockingIOError:
                break
            except ConnectionResetError:
                self.closed = True
                break
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                raise
            if not chunk:
                self.closed = True
                break
            self._in += chunk
        out = []
        while len(self._in) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._in)
            if len(self._in) < _HEADER.size + size:
                break
            out.append(pickle.loads(bytes(self._in[_HEADER.size : _HEADER.size + size])))
            del self._in[: _HEADER.size + size]
        return out

    def close(self) -> None:
        for fd in {self.read_fd, self.write_fd}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.closed = True


class Zygote:
    """Leader-side handle of the fork server."""

    def __init__(
        self,
        worker_main: Callable[[str], None],
        lock_path: str | None = None,
        warm_up: Callable[[], None] | None = None,
        on_worker_exit: Callable[[int, int], None] | None = None,
        close_in_child: Callable[[], list[int]] | None = None,
        close_in_zygote: list[int] | None = None,
    ) -> None:
        self.worker_main = worker_main  # runs in a forked worker with its id; never returns
        self.lock_path = lock_path
        self.warm_up = warm_up
        self.on_worker_exit = on_worker_exit  # runs in the zygote after a worker died abnormally (pid, code)
        self.close_in_child = close_in_child
        self.close_in_zygote = close_in_zygote or []  # leader-only descriptors, e.g. its job store lock
        self.pid: int | None = None
        self.channel: Channel | None = None

    def start(self) -> None:
        req_r, req_w = os.pipe()
        ev_r, ev_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(req_w)
                os.close(ev_r)
                _Server(req_r, ev_w, self).serve()
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(ev_w)
        self.pid = pid
        self.channel = Channel(ev_r, req_w)

    def spawn(self, worker_id: str) -> None:
        assert self.channel is not None
        self.channel.send(("spawn", worker_id))

    def stop(self) -> None:
        """Kill every worker and the zygote, and reap it."""
        if self.pid is None:
            return
        try:
            assert self.channel is not None
            self.channel.send(("exit",))
            os.close(self.channel.write_fd)
        except OSError:
            pass
        try:
            for _ in range(300):
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.01)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            os.close(self.channel.read_fd)  # type: ignore[union-attr]
        except OSError:
            pass
        self.pid = None

    @property
    def alive(self) -> bool:
        return self.pid is not None and not (self.channel is not None and self.channel.closed)


class _Server:
    """The zygote's own loop: fork workers, reap them, report."""

    def __init__(self, req_fd: int, ev_fd: int, zygote: Zygote) -> None:
        self.channel = Channel(req_fd, ev_fd)
        self.zygote = zygote
        self.workers: dict[int, tuple[str, int]] = {}  # pid -> (worker id, pidfd)
        self.pidfds: dict[int, int] = {}  # pidfd -> pid
        self.lock_fd: int | None = None

    def serve(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_terminate)
        for fd in self.zygote.close_in_zygote:
            try:
                os.close(fd)  # e.g. the leader's lock: it must die with the leader, not live on in us
            except OSError:
                pass
        # On the leader's death, SIGTERM (not SIGKILL): we kill every worker's process group first, so the
        # commands jobs started (a CWL tool, a WDL task) do not run on as orphans.
        set_pdeathsig(signal.SIGTERM)
        if self.zygote.lock_path:
            # Every worker inherits this shared lock: a new leader can wait for the last one to die.
            self.lock_fd = os.open(self.zygote.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.lock_fd, fcntl.LOCK_SH)
        # Import and initialise here what every job needs, once, so workers do not each pay for it.
        _load_prctl()
        if self.zygote.warm_up is not None:
            self.zygote.warm_up()
        # Freeze (no collect first: on a leader that loaded a large document, a full collection costs
        # tens of milliseconds before the first job can start): jobs' collections skip these objects,
        # so forked workers do not copy the pages they live on.
        gc.freeze()
        poller = select.poll()
        poller.register(self.channel.read_fd, select.POLLIN)
        exiting = False
        while not exiting or self.workers:
            if self.channel.pending_output:
                poller.register(self.channel.write_fd, select.POLLOUT)
            for fd, _ in poller.poll(1000):
                if fd == self.channel.read_fd:
                    for msg in self.channel.receive():
                        if msg[0] == "spawn" and not exiting:
                            self._fork(msg[1], poller)
                        elif msg[0] == "exit":
                            exiting = True
                            self._kill_all()
                    if self.channel.closed:
                        poller.unregister(self.channel.read_fd)
                        if not exiting:
                            exiting = True
                            self._kill_all()
                elif fd == self.channel.write_fd:
                    self.channel.flush()
                else:
                    self._reap(fd, poller)
            if not self.channel.pending_output:
                try:
                    poller.unregister(self.channel.write_fd)
                except KeyError:
                    pass
        self.channel.flush()

    def _on_terminate(self, signum: int, frame: FrameType | None) -> None:
        self._kill_all()
        os._exit(1)

    def _kill_all(self) -> None:
        for pid in list(self.workers):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _fork(self, worker_id: str, poller: select.poll) -> None:
        pid = os.fork()
        if pid == 0:
            self._child(worker_id)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        pidfd = os.pidfd_open(pid)
        self.workers[pid] = (worker_id, pidfd)
        self.pidfds[pidfd] = pid
        poller.register(pidfd, select.POLLIN)
        self.channel.send(("spawned", worker_id, pid))

    def _child(self, worker_id: str) -> None:
        code = 0
        try:
            os.setpgid(0, 0)
            set_pdeathsig()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            extra = self.zygote.close_in_child() if self.zygote.close_in_child else []
            for fd in [self.channel.read_fd, self.channel.write_fd, *self.pidfds, *extra]:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.zygote.worker_main(worker_id)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _reap(self, pidfd: int, poller: select.poll) -> None:
        pid = self.pidfds.pop(pidfd)
        poller.unregister(pidfd)
        os.close(pidfd)
        worker_id, _ = self.workers.pop(pid)
        try:
            os.killpg(pid, signal.SIGKILL)  # what the worker's jobs started and left behind dies with it
        except (ProcessLookupError, PermissionError):
            pass
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and self.zygote.on_worker_exit is not None:
            helper = os.fork()  # user code (deferred functions) never runs in the zygote itself
            if helper == 0:
                try:
                    self.zygote.on_worker_exit(pid, code)
                finally:
                    os._exit(0)
            os.waitpid(helper, 0)
        self.channel.send(("exited", worker_id, pid, code, usage.ru_utime + usage.ru_stime, usage.ru_maxrss))
