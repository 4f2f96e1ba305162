"""Object URLs wherever a path goes: ``s3://BUCKET/KEY`` and ``gs://BUCKET/KEY`` through the object drivers.

One handler for every object service: it opens the driver of the URL's
bucket and imports, exports, sizes and checks through the same calls (and
retries) the job store uses. A missing object or bucket, or one that cannot
be read, is one line naming the URL.
"""

from __future__ import annotations

import os
import urllib.parse
from contextlib import contextmanager
from typing import IO, Callable, Iterator

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.object.driver import ObjectDriver
from toil.runtime.jobstores.object.retry import RetryingDriver
from toil.runtime.jobstores.urls import URLHandler

DriverFor = Callable[[str], ObjectDriver]  # a bucket name -> its driver


def split_object_url(url: str) -> tuple[str, str]:
    """SCHEME://BUCKET/KEY -> (bucket, key)."""
    parsed = urllib.parse.urlparse(url)
    if not parsed.netloc or not parsed.path.strip("/"):
        raise ToilUserError(f"cannot use {url}: name a bucket and an object ({parsed.scheme}://BUCKET/KEY)")
    return parsed.netloc, urllib.parse.unquote(parsed.path.lstrip("/"))


class ObjectURLHandler(URLHandler):
    """Import from and export to the objects of one service."""

    def __init__(self, driver_for: DriverFor) -> None:
        self._driver_for = driver_for
        self._drivers: dict[str, ObjectDriver] = {}

    def _open(self, url: str) -> tuple[ObjectDriver, str]:
        bucket, key = split_object_url(url)
        if bucket not in self._drivers:
            self._drivers[bucket] = RetryingDriver(self._driver_for(bucket))
        return self._drivers[bucket], key

    def exists(self, url: str) -> bool:
        driver, key = self._open(url)
        return driver.head(key) is not None

    def size(self, url: str) -> int | None:
        driver, key = self._open(url)
        info = driver.head(key)
        if info is None:
            raise ToilUserError(f"cannot read {url}: no such object")
        return info.size

    @contextmanager
    def open_read(self, url: str) -> Iterator[IO[bytes]]:
        driver, key = self._open(url)
        try:
            with driver.open_read(key) as stream:
                yield stream
        except KeyError:
            raise ToilUserError(f"cannot read {url}: no such object") from None

    def read_error(self, url: str, error: OSError) -> ToilUserError:
        return ToilUserError(f"cannot read {url}: {error}")

    def check_writable(self, url: str) -> None:
        driver, _ = self._open(url)
        if not driver.container_exists():
            raise ToilUserError(f"cannot export to {url}: no bucket {driver.where}")

    def write(self, url: str, stream: IO[bytes], executable: bool = False) -> None:
        driver, key = self._open(url)
        local = getattr(stream, "name", None)
        if isinstance(local, str) and os.path.isfile(local):  # a file: in parts, in parallel
            driver.upload_file(key, local)
            return
        with driver.open_write(key) as out:
            while chunk := stream.read(1 << 20):
                out.write(chunk)


def s3_handler() -> URLHandler:
    def driver_for(bucket: str) -> ObjectDriver:
        from toil.runtime.jobstores.object.s3 import S3Driver, bucket_region

        return S3Driver(bucket_region(bucket), bucket)

    return ObjectURLHandler(driver_for)


def gs_handler() -> URLHandler:
    def driver_for(bucket: str) -> ObjectDriver:
        from toil.runtime.jobstores.object.gcs import GCSDriver

        # without credentials, public objects can still be read (as in Toil)
        return GCSDriver(None, bucket, anonymous_fallback=True)

    return ObjectURLHandler(driver_for)
