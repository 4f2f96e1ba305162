"""Reading and writing the URLs that files are imported from and exported to, by scheme.

Every job store imports and exports through these handlers, so a new store
gets file:, http:, https: and ftp: for nothing, and a new scheme (s3:, gs:)
is one handler and one ``register_url_handler`` call. A bare path is a
``file:`` URL. Errors a user can act on are ToilUserError in one line.
"""

from __future__ import annotations

import abc
import io
import os
import shutil
import stat
import urllib.parse
import urllib.request
from contextlib import contextmanager
from typing import IO, Callable, Iterator

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.file.fsutil import temp_name, unlink_quiet, user_mode

CHUNK = 1 << 20
FETCH_TIMEOUT = 60.0  # seconds without an answer before a download is given up


class URLHandler(abc.ABC):
    """What import and export need from one kind of URL."""

    @abc.abstractmethod
    def exists(self, url: str) -> bool:
        """Whether the URL names a file that can be read (not a directory)."""

    @abc.abstractmethod
    def size(self, url: str) -> int | None:
        """The size in bytes of what the URL names, or None if it cannot be told without reading it."""

    @abc.abstractmethod
    @contextmanager
    def open_read(self, url: str) -> Iterator[IO[bytes]]:
        """A stream of what the URL names; ToilUserError if it cannot be opened."""

    @abc.abstractmethod
    def read_error(self, url: str, error: OSError) -> ToilUserError:
        """The one-line error for a failure to open or read the URL."""

    @abc.abstractmethod
    def write(self, url: str, stream: IO[bytes], executable: bool = False) -> None:
        """Replace what the URL names with the rest of the stream; readers never see a part written."""

    def check_writable(self, url: str) -> None:  # noqa: B027 (optional: most handlers find out when writing)
        """Raise ToilUserError if files cannot be exported to the URL (checked before anything is read)."""

    def local_path(self, url: str) -> str | None:
        """The file on this machine the URL names (a store may copy or link it directly), or None."""
        return None

    def basename(self, url: str) -> str:
        """The file name the URL ends in ('' if none): imported files keep it."""
        return os.path.basename(urllib.parse.urlparse(url).path)

    def copy_to(self, url: str, dst: IO[bytes]) -> int:
        """Copy what the URL names into dst; the number of bytes. Only reading errors become read_error."""
        copied = 0
        with self.open_read(url) as src:
            while True:
                try:
                    chunk = src.read(CHUNK)
                except OSError as e:
                    raise self.read_error(url, e) from None
                if not chunk:
                    return copied
                dst.write(chunk)
                copied += len(chunk)

    def read_bytes(self, url: str) -> bytes:
        """The whole of what the URL names, in memory (for shared files, which are small)."""
        buffer = io.BytesIO()
        self.copy_to(url, buffer)
        return buffer.getvalue()


class FileURLHandler(URLHandler):
    """Paths and file:// URLs: files on this machine (or a file system it mounts)."""

    def local_path(self, url: str) -> str:
        parsed = urllib.parse.urlparse(url)
        path = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else url
        return os.path.abspath(os.path.expanduser(path))

    def exists(self, url: str) -> bool:
        return os.path.isfile(self.local_path(url))

    def size(self, url: str) -> int:
        return os.path.getsize(self.local_path(url))

    @contextmanager
    def open_read(self, url: str) -> Iterator[IO[bytes]]:
        try:
            f = open(self.local_path(url), "rb")
        except OSError as e:
            raise self.read_error(url, e) from None
        with f:
            yield f

    def read_error(self, url: str, error: OSError) -> ToilUserError:
        return ToilUserError(f"cannot read {self.local_path(url)}: {error.strerror}")

    def write(self, url: str, stream: IO[bytes], executable: bool = False) -> None:
        dst = self.local_path(url)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = temp_name(dst)
        try:
            with open(tmp, "wb") as f:
                _copy_stream(stream, f)
            os.chmod(tmp, user_mode(executable))  # what the user asked for: their umask decides
            os.replace(tmp, dst)
        except BaseException:
            unlink_quiet(tmp)
            raise


class FetchURLHandler(URLHandler):
    """http:, https: and ftp: URLs, read with urllib; they cannot be written to."""

    @contextmanager
    def open_read(self, url: str) -> Iterator[IO[bytes]]:
        try:
            response = urllib.request.urlopen(url, timeout=FETCH_TIMEOUT)
        except OSError as e:
            raise self.read_error(url, e) from None
        with response:
            yield response

    def read_error(self, url: str, error: OSError) -> ToilUserError:
        return ToilUserError(f"cannot fetch {url}: {error}")

    def exists(self, url: str) -> bool:
        try:
            with self.open_read(url):
                return True
        except ToilUserError:
            return False

    def size(self, url: str) -> int | None:
        with self.open_read(url) as response:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
        return int(length) if length and str(length).isdigit() else None

    def check_writable(self, url: str) -> None:
        raise ToilUserError(f"cannot export to {url}: only file paths and file:// URLs are supported")

    def write(self, url: str, stream: IO[bytes], executable: bool = False) -> None:
        self.check_writable(url)


def _copy_stream(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copy src to dst, in the kernel when both are files (exports of large outputs)."""
    try:
        in_fd, out_fd = src.fileno(), dst.fileno()
        regular = stat.S_ISREG(os.fstat(in_fd).st_mode)
    except (AttributeError, OSError, io.UnsupportedOperation):
        regular = False
    if not regular:
        shutil.copyfileobj(src, dst, CHUNK)
        return
    dst.flush()
    offset = src.tell()
    while True:
        sent = os.sendfile(out_fd, in_fd, offset, CHUNK * 8)
        if sent == 0:
            break
        offset += sent


# A handler, or a factory that makes it on first use (so that boto3 or google-cloud-storage load only when needed)
_HANDLERS: dict[str, URLHandler | Callable[[], URLHandler]] = {}


def register_url_handler(schemes: tuple[str, ...], handler: URLHandler | Callable[[], URLHandler]) -> None:
    """Import from and export to URLs of these schemes (``""``: a bare path) with ``handler`` (or its factory)."""
    for scheme in schemes:
        _HANDLERS[scheme] = handler


def url_handler(url: str) -> URLHandler:
    """The handler for a URL's scheme; ToilUserError naming the scheme if none is registered."""
    scheme = urllib.parse.urlparse(url).scheme
    handler = _HANDLERS.get(scheme)
    if handler is None:
        raise ToilUserError(f"cannot use {url}: unsupported URL scheme {scheme!r}")
    if not isinstance(handler, URLHandler):
        try:
            made = handler()
        except ImportError as e:
            raise ToilUserError(f"cannot use {url}: {e.name or e} is not installed (pip install 'toil[all]')") from None
        _HANDLERS[scheme] = handler = made
    return handler


def _s3() -> URLHandler:
    from toil.runtime.jobstores.object.urls import s3_handler

    return s3_handler()


def _gs() -> URLHandler:
    from toil.runtime.jobstores.object.urls import gs_handler

    return gs_handler()


register_url_handler(("", "file"), FileURLHandler())
register_url_handler(("http", "https", "ftp"), FetchURLHandler())
register_url_handler(("s3",), _s3)
register_url_handler(("gs",), _gs)
