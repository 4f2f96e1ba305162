"""What an object-store job store keeps on each node: a cache of global files, results logs, the workers lock.

One directory per job store and node (``$TOIL_WORKDIR`` or the temporary
directory, then ``toil-objstore-<uid>/<hash of the locator>``), shared by
every worker process of the workflow on that node:

* ``cache/<file hex id>``: global files downloaded once per node, whatever
  the number of jobs that read them (a lock per file makes concurrent
  readers wait for the one download); least recently used files are evicted
  past ``TOIL_CACHE_BYTES`` (default 20 GiB);
* ``results/<worker>.rlog``: the local batch system's warm workers append
  their results here, as they do inside a ``file:`` store;
* ``workers.lock``: held by every local job process, as in a ``file:`` store.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

from toil.runtime.jobstores.file.fsutil import temp_name, unlink_quiet


def node_dir(locator: str) -> str:
    base = os.environ.get("TOIL_WORKDIR") or tempfile.gettempdir()
    digest = hashlib.sha1(locator.encode()).hexdigest()[:16]
    return os.path.join(base, f"toil-objstore-{os.getuid()}", digest)


def cache_limit() -> int:
    return int(os.environ.get("TOIL_CACHE_BYTES", str(20 << 30)))


class NodeFiles:
    """The node-local directory of one object-store job store."""

    def __init__(self, locator: str) -> None:
        self.root = node_dir(locator)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def ensure(self, sub: str) -> str:
        d = self.path(sub)
        os.makedirs(d, mode=0o700, exist_ok=True)
        return d

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the file cache
    def cached(self, hexid: str, download: Callable[[str], None]) -> str:
        """The cached copy of a global file, downloaded with ``download(path)`` if no worker here did it yet."""
        path = os.path.join(self.ensure("cache"), hexid)
        if os.path.exists(path):
            os.utime(path)  # recently used: evicted last
            return path
        with self._locked(path + ".lock"):
            if not os.path.exists(path):
                tmp = temp_name(path)
                try:
                    download(tmp)
                    os.replace(tmp, path)
                finally:
                    unlink_quiet(tmp)
                self._evict(keep=path)
        return path

    def forget(self, hexid: str) -> None:
        unlink_quiet(self.path("cache", hexid))

    @contextmanager
    def _locked(self, lock_path: str) -> Iterator[None]:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _evict(self, keep: str) -> None:
        d = self.path("cache")
        entries = []
        for name in os.listdir(d):
            if name.endswith((".lock", ".tmp")) or name.startswith("."):
                continue
            try:
                st = os.stat(os.path.join(d, name))
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime, st.st_size, os.path.join(d, name)))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= cache_limit():
                return
            if path != keep:
                unlink_quiet(path)  # readers that linked it keep their link
                total -= size
