"""A stand-in for a cluster's leader machine: a Podman container with a real sshd, reached only through a test's
own ssh configuration, that runs the bootstrap a launch put in the leader's user data.

moto invents the leader's addresses; nothing may connect to them. The test's ssh configuration (``Host *``
with a ProxyCommand) sends every ssh, whatever address it names, to this container's port on 127.0.0.1, and
the ProxyCommand logs each address it was asked for. ssh reads the configuration of the user's passwd home,
not ``$HOME``, so commands run in a private mount namespace where /etc/passwd names the test's home as the
user's (``run_argv``); production runs the same commands with the user's own configuration.

The image (tests/standin_leader_image/) is built once: its tag is the hash of what it is built from.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CONTEXT = HERE / "standin_leader_image"
REPOSITORY = "localhost/toil-test/standin-leader"
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LOG = "/var/log/standin.log"


def _podman(*args: str, check: bool = True, timeout: float = 120, stdin: bytes | None = None) -> str:
    done = subprocess.run(["podman", *args], input=stdin, capture_output=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode(errors="replace")


def _context_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in CONTEXT.rglob("*")):
        digest.update(str(path.relative_to(CONTEXT)).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mode & 0o777).encode())
    if DEBIAN_SOURCES.exists():
        digest.update(DEBIAN_SOURCES.read_bytes())
    return digest.hexdigest()[:16]


def image() -> str:
    """The stand-in image, built unless one from the same content exists (about a minute the first time)."""
    tag = f"{REPOSITORY}:{_context_hash()}"
    lock_path = Path(tempfile.gettempdir()) / "toil-standin-leader.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (tests running beside each other)
        if subprocess.run(["podman", "image", "exists", tag]).returncode == 0:
            return tag
        with tempfile.TemporaryDirectory() as build:
            shutil.copytree(CONTEXT, build, dirs_exist_ok=True, symlinks=True)
            apt = Path(build) / "apt" / "sources.list.d"
            apt.mkdir(parents=True)
            if DEBIAN_SOURCES.exists():  # the host's mirror (the only one reachable), as infra/appliance.sh does
                shutil.copy(DEBIAN_SOURCES, apt)
                (apt.parent / "sources.list").write_text("")
            _podman("build", "--network=host", "-q", "-t", tag, "-f", f"{build}/Containerfile", build, timeout=900)
        for older in _podman("images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY).split():
            if older != tag:  # an image of an earlier content hash: no test names it any more
                _podman("rmi", older, check=False)
    return tag


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PROXY = """import socket, sys, threading
log, port, host, wanted = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(log, "a") as f:
    f.write(f"{host}:{wanted} -> 127.0.0.1:{port}\\n")
s = socket.create_connection(("127.0.0.1", port))
def up():
    while data := sys.stdin.buffer.read1(65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    sys.stdout.buffer.write(data); sys.stdout.buffer.flush()
"""


@dataclass
class StandinLeader:
    """One running stand-in container and the home directory (ssh key, config) that reaches it."""

    container: str
    port: int
    home: Path

    @property
    def proxy_log(self) -> Path:
        """One line per connection ssh made: 'ADDRESS:PORT -> 127.0.0.1:CONTAINER_PORT'."""
        return self.home / "proxy.log"

    @property
    def public_key(self) -> str:
        """The test's ssh public key (imported as the launch's EC2 key pair)."""
        return (self.home / ".ssh" / "id_ed25519.pub").read_text().strip()

    def run_argv(self, argv: list[str]) -> list[str]:
        """``argv`` in a mount namespace whose /etc/passwd gives the test's home as the user's (ssh reads its config
        there; nothing else moves)."""
        passwd = self.home / "passwd"
        if not passwd.exists():
            me = pwd.getpwuid(os.getuid())
            lines = Path("/etc/passwd").read_text().splitlines()
            mine = ":".join([me.pw_name, "x", str(me.pw_uid), str(me.pw_gid), me.pw_gecos, str(self.home), me.pw_shell])
            passwd.write_text("\n".join(mine if line.split(":")[0] == me.pw_name else line for line in lines) + "\n")
        script = f'mount --bind {shlex.quote(str(passwd))} /etc/passwd && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]

    def exec(self, command: str, stdin: bytes | None = None, timeout: float = 120) -> str:
        """A shell command in the container, as root."""
        return _podman("exec", "-i", self.container, "bash", "-c", command, stdin=stdin, timeout=timeout)

    def log(self) -> str:
        """What the shims were asked to do."""
        return self.exec(f"cat {LOG}")

    def cloud_init(self, user_data: str, public_key: str) -> None:
        """Do what cloud-init does with the node bootstrap's #cloud-config: authorize the instance's key pair
        for the default user, write the files, run the commands (failures raise, with the script's output)."""
        if user_data.startswith("#include\n"):  # cloud-init fetches each URL and reads what it got
            for url in user_data.splitlines()[1:]:
                self.cloud_init(fetch_included(url.strip()), public_key)
            return
        config: dict[str, Any] = yaml.safe_load(user_data)
        assert user_data.startswith("#cloud-config\n"), user_data[:40]
        user = config["system_info"]["default_user"]["name"]
        key = shlex.quote(public_key.strip())
        keys = f"~{user}/.ssh/authorized_keys"
        self.exec(f"install -o {user} -m 600 /dev/null {keys} && echo {key} >{keys}")
        for entry in config.get("write_files", []):
            path = shlex.quote(entry["path"])
            self.exec(
                f"mkdir -p $(dirname {path}) && cat >{path} && chmod {entry['permissions']} {path}",
                stdin=entry["content"].encode(),
            )
        for command in config.get("runcmd", []):
            line = " ".join(shlex.quote(word) for word in command) if isinstance(command, list) else command
            self.exec(
                f"{line} >>/var/log/cloud-init-output.log 2>&1 || {{ cat /var/log/cloud-init-output.log; exit 1; }}"
            )


def fetch_included(url: str) -> str:
    """What cloud-init's #include gets from one URL: only from loopback here (the test's moto_server)."""
    assert urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"), url
    with urllib.request.urlopen(url, timeout=30) as answer:
        return str(answer.read().decode())


def start(home: Path) -> StandinLeader:
    """Start a stand-in container; ``home`` gets the test's ssh key and a config sending every host to it."""
    tag = image()
    port = _free_port()
    container = f"toil-standin-{os.getpid()}-{port}"
    _podman("run", "-d", "--rm", "--name", container, "-p", f"127.0.0.1:{port}:22", tag)
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    ssh_dir.chmod(0o700)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "toil-test", "-f", str(ssh_dir / "id_ed25519")],
        check=True,
    )
    proxy = home / "proxy.py"
    proxy.write_text(PROXY)
    (ssh_dir / "config").write_text(
        f"Host *\n  ProxyCommand {sys.executable} {proxy} {home / 'proxy.log'} {port} %h %p\n  ServerAliveInterval 5\n"
    )
    leader = StandinLeader(container, port, home)
    deadline = time.monotonic() + 30
    while not _ssh_banner(port):
        if time.monotonic() > deadline:
            stop(leader)
            raise RuntimeError(f"sshd in {container} did not start")
        time.sleep(0.1)
    return leader


def _ssh_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            return conn.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def stop(leader: StandinLeader) -> None:
    """Remove the container."""
    _podman("rm", "-f", "-t", "0", leader.container, check=False)
