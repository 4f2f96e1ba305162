"""URL handlers: what import and export read and write, by scheme (a local HTTP server on loopback)."""

from __future__ import annotations

import http.server
import io
import os
import threading

import pytest

from tests.unit.runtime.jobstores.memory_store import MemoryJobStore
from toil.exceptions import ToilUserError
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.jobstores.urls import FetchURLHandler, FileURLHandler, url_handler

BODY = b"served over http\n" * 1000


@pytest.fixture(scope="module")
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/data/input.txt":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_handlers_by_scheme():
    assert isinstance(url_handler("/a/b"), FileURLHandler) and isinstance(url_handler("file:///a"), FileURLHandler)
    for url in ("http://h/x", "https://h/x", "ftp://h/x"):
        assert isinstance(url_handler(url), FetchURLHandler)
    with pytest.raises(ToilUserError, match="^cannot use nosuch://b/k: unsupported URL scheme 'nosuch'$"):
        url_handler("nosuch://b/k")


def test_file_urls(tmp_path):
    handler = FileURLHandler()
    src = tmp_path / "a b.txt"
    src.write_bytes(b"abc")
    url = f"file://{tmp_path}/a%20b.txt"
    assert handler.local_path(url) == str(src) and handler.exists(url) and handler.size(url) == 3
    assert handler.read_bytes(url) == b"abc" and handler.basename(url) == "a%20b.txt"
    assert not handler.exists(str(tmp_path))  # a directory is not a file to import
    dst = tmp_path / "new" / "out.txt"
    handler.write(str(dst), io.BytesIO(b"written"), executable=True)
    assert dst.read_bytes() == b"written" and os.stat(dst).st_mode & 0o100
    assert os.listdir(dst.parent) == ["out.txt"]  # no temporary file left beside it


def test_http_import_into_each_store(server, tmp_path):
    for store in (FileJobStore(str(tmp_path / "js")), MemoryJobStore("urls")):
        store.create({})
        file_id, size, executable = store.import_file(f"{server}/data/input.txt")
        assert file_id.endswith("/input.txt") and size == len(BODY) and not executable
        with store.read_file_stream(file_id) as f:
            assert f.read() == BODY
        assert store.import_file(f"{server}/data/input.txt", shared_file_name="input.txt") is None
        assert store.read_shared_file("input.txt") == BODY
        store.destroy()


def test_http_size_exists_and_errors(server, tmp_path):
    handler = FetchURLHandler()
    assert handler.exists(f"{server}/data/input.txt") and handler.size(f"{server}/data/input.txt") == len(BODY)
    assert not handler.exists(f"{server}/missing")
    store = FileJobStore(str(tmp_path / "js"))
    store.create({})
    with pytest.raises(ToilUserError, match=f"^cannot fetch {server}/missing: HTTP Error 404"):
        store.import_file(f"{server}/missing")
    with pytest.raises(ToilUserError, match="^cannot export to https://h/x: only file paths and file:// URLs"):
        store.export_file("0" * 32 + "/x", "https://h/x")
