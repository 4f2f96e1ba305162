"""The file: job store: life cycle, lock, global files, import/export, shared files."""

from __future__ import annotations

import os

import pytest

from toil.exceptions import JobStoreExistsException, JobStoreLockedError, NoSuchJobStoreException, ToilUserError
from toil.runtime.jobstores import open_job_store
from toil.runtime.jobstores.base import NoSuchFileException
from toil.runtime.jobstores.file.store import FileJobStore
from toil.runtime.jobstores.locator import normalize_locator, parse_locator


@pytest.fixture
def js(tmp_path):
    store = FileJobStore(str(tmp_path / "js"))
    store.create({"workflow_id": "w"})
    return store


def test_locators(tmp_path):
    assert parse_locator("file:/a/b") == ("file", "/a/b")
    assert parse_locator("./x") == ("file", "./x") and parse_locator("rel") == ("file", "rel")
    assert parse_locator("aws:us-west-2:name") == ("aws", "us-west-2:name")
    assert normalize_locator("rel").startswith("file:/")
    with pytest.raises(ToilUserError, match="unknown job store type"):
        parse_locator("ftp:x")
    with pytest.raises(ToilUserError, match="unknown AWS region 'nowhere-1'"):
        open_job_store("aws:nowhere-1:name")


def test_create_exists_and_destroy(tmp_path, js):
    assert js.exists() and js.read_meta()["workflow_id"] == "w"
    assert oct(os.stat(js.path).st_mode & 0o777) == "0o700"
    with pytest.raises(JobStoreExistsException):
        FileJobStore(js.path).create({})
    js.destroy()
    assert not os.path.exists(js.path)
    with pytest.raises(NoSuchJobStoreException):
        js.read_meta()


def test_refuses_to_create_in_or_delete_a_foreign_directory(tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "precious.txt").write_text("x")
    store = FileJobStore(str(other))
    with pytest.raises(ToilUserError, match="not empty"):
        store.create({})
    with pytest.raises(ToilUserError, match="refusing to delete"):
        store.destroy()
    assert (other / "precious.txt").exists()


def test_one_leader_at_a_time(js):
    js.lock_leader()
    with pytest.raises(JobStoreLockedError, match=f"pid {os.getpid()}"):
        FileJobStore(js.path).lock_leader()
    js.unlock_leader()
    FileJobStore(js.path).lock_leader()


def test_global_files(tmp_path, js):
    src = tmp_path / "data.bin"
    src.write_bytes(b"12345")
    os.chmod(src, 0o755)
    file_id, size, executable = js.write_file(str(src))
    assert file_id.endswith("/data.bin") and size == 5 and executable
    for mode in ("copy", "hardlink", "symlink"):
        dest = tmp_path / f"out-{mode}"
        js.read_file(file_id, str(dest), link=mode)
        assert dest.read_bytes() == b"12345"
    assert os.path.islink(tmp_path / "out-symlink")
    with js.write_file_stream("s.txt") as (f, sid):
        f.write(b"streamed")
    with js.read_file_stream(sid) as f:
        assert f.read() == b"streamed"
    assert js.get_file_size(sid) == 8 and js.file_exists(sid)
    js.delete_file(sid)
    assert not js.file_exists(sid)
    with pytest.raises(NoSuchFileException):
        js.read_file("../../etc/passwd", str(tmp_path / "x"))


def test_import_export_and_shared_files(tmp_path, js):
    src = tmp_path / "in.txt"
    src.write_text("import me")
    linked, _, _ = js.import_file(str(src), symlink=True)
    copied, _, _ = js.import_file(f"file://{src}")
    assert os.path.islink(js.local_path(linked)) and not os.path.islink(js.local_path(copied))
    js.export_file(copied, f"file://{tmp_path}/out/exported.txt")
    assert (tmp_path / "out" / "exported.txt").read_text() == "import me"
    assert js.import_file(str(src), shared_file_name="config.txt") is None
    assert js.read_shared_file("config.txt") == b"import me"
    with pytest.raises(ToilUserError, match="no such file"):
        js.import_file(str(tmp_path / "missing"))
    with pytest.raises(ToilUserError, match="bad shared file name"):
        js.write_shared_file("../escape", b"")


def test_a_linked_import_whose_source_is_gone_is_named(tmp_path, js):
    src = tmp_path / "in.txt"
    src.write_text("linked")
    linked, _, _ = js.import_file(str(src), symlink=True)
    src.unlink()
    with pytest.raises(NoSuchFileException, match="its source .*in.txt is gone"):
        js.export_file(linked, str(tmp_path / "out.txt"))
    with pytest.raises(NoSuchFileException, match="its source .*in.txt is gone"):
        with js.read_file_stream(linked):
            pass
    assert not (tmp_path / "out.txt").exists()


def test_the_lease_and_the_workers_lock_are_files_in_the_store(js):
    assert js.workers_lock_path() == os.path.join(js.path, "workers.lock")
    js.lock_leader()
    (fd,) = js.leader_lease_fds()
    assert os.path.samefile(f"/proc/self/fd/{fd}", os.path.join(js.path, "leader.lock"))
    js.unlock_leader()
    assert not os.path.exists(os.path.join(js.path, "leader.json"))
