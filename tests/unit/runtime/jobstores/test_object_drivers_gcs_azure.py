"""The Cloud Storage and Azure Blob drivers against real emulators: fake-gcs-server and Azurite.

Both run on 127.0.0.1, started by infra/gcs-azure-up.sh when they do not answer. Each driver is held to
the same contract (the calls store.py makes), then the whole ObjectJobStore is run on each. If an
emulator cannot start, its tests skip with the reason; under CI (``CI`` set) that is a failure instead.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.objectstores import answers as _answers
from toil.exceptions import JobStoreLockedError, ToilUserError
from toil.runtime.jobstores import open_job_store
from toil.runtime.jobstores import retry as fs_retry
from toil.runtime.jobstores.object.driver import ObjectDriver
from toil.runtime.jobstores.object.retry import RetryingDriver

try:
    from toil.runtime.jobstores.object import azure, gcs
except ImportError as e:  # pip install -e '.[test]' brings google-cloud-storage and azure-storage-blob
    if os.environ.get("CI"):
        raise
    pytest.skip(f"{e.name} is not installed", allow_module_level=True)

REPO = Path(__file__).resolve().parents[4]
GCS_URL = "http://127.0.0.1:4443"
AZURITE_URL = "http://127.0.0.1:10000/devstoreaccount1"
# Azurite's account and key, as Microsoft documents them for the emulator (not a secret)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE = (
    f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={AZURITE_URL};"
)
PART = 256 << 10  # the smallest part a resumable upload takes, so that a test object spans several
SERVICES = ["gcs", "azure"]


_started: dict[str, str] = {}  # what starting the emulators said, once per session


def ensure_emulator(service: str) -> None:
    """The emulator answers, started by infra/gcs-azure-up.sh if needed; else skip (fail under CI)."""
    url = f"{GCS_URL}/storage/v1/b" if service == "gcs" else AZURITE_URL
    if _answers(url):
        return
    if "output" not in _started:
        venv = os.path.dirname(os.path.dirname(sys.executable))
        try:
            done = subprocess.run(
                ["bash", str(REPO / "infra" / "gcs-azure-up.sh"), venv], capture_output=True, text=True, timeout=300
            )
            _started["output"] = (done.stderr or done.stdout).strip()[-400:]
        except (OSError, subprocess.TimeoutExpired) as e:
            _started["output"] = str(e)
    if not _answers(url):
        message = f"the {service} emulator cannot start: {_started['output']}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run these tests)")
        pytest.skip(message)


def point_at_emulator(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment that sends the service's client to its emulator, and nowhere else."""
    ensure_emulator(service)
    if service == "gcs":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", GCS_URL)
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    else:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE)


def new_driver(service: str) -> ObjectDriver:
    name = f"t-{uuid.uuid4().hex[:16]}"
    if service == "gcs":
        return gcs.GCSDriver("toil-test", gcs.parse_google_locator(f"toil-test:{name}")[1])
    return azure.AzureDriver(AZURITE_ACCOUNT, azure.parse_azure_locator(f"{AZURITE_ACCOUNT}:{name}")[1])


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 256 KiB, so that a test object of a megabyte is a multipart upload."""
    monkeypatch.setattr(gcs, "PART_SIZE", PART)
    monkeypatch.setattr(azure, "PART_SIZE", PART)
    monkeypatch.setenv("TOIL_JOBSTORE_RETRY_SECONDS", "0.01")


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    point_at_emulator(request.param, monkeypatch)
    return str(request.param)


@pytest.fixture
def driver(service: str):
    """A driver on a new, empty container of the service's emulator (removed afterwards)."""
    d = new_driver(service)
    d.create_container()
    yield d
    d.delete([info.key for info in d.list("")])
    d.delete_container()


def _data(n: int) -> bytes:
    return os.urandom(n)


# ---------------------------------------------------------------------- locators (no emulator)
def test_google_locators_name_the_bucket_as_toil_does():
    assert gcs.parse_google_locator("my-project:run1") == ("my-project", "run1--toil")
    assert gcs.parse_google_locator("example.com:proj:run_1") == ("example.com:proj", "run_1--toil")
    for bad in ("run1", "x", "p:", ":run", "p:Run", "p:-run", "p:" + "a" * 58, "p:googlerun", "p:a.b"):
        with pytest.raises(ToilUserError, match="job store locator 'google:"):
            gcs.parse_google_locator(bad)


def test_azure_locators_follow_the_old_store_and_azure_naming():
    assert azure.parse_azure_locator("mystorage:run-1") == ("mystorage", "run-1-toil")
    for bad in ("mystorage", "mystorage:", "MyStorage:run", "ab:run", "mystorage:run--1", "mystorage:-run", "s:ab"):
        with pytest.raises(ToilUserError, match="job store locator 'azure:"):
            azure.parse_azure_locator(bad)
    with pytest.raises(ToilUserError, match="3 to 58"):
        azure.parse_azure_locator("mystorage:" + "a" * 59)


def test_azure_metadata_names_are_encoded_reversibly():
    names = {"toil-executable": "1", "a_b": "2", "9lives": "3", "ü": "4", "Plain": "5"}
    encoded = azure.encode_metadata(names)
    assert encoded is not None
    assert all(k[0].isalpha() or k[0] == "_" for k in encoded)
    assert all(c.isascii() and (c.isalnum() or c == "_") for k in encoded for c in k)
    assert azure.decode_metadata(encoded) == names


# ---------------------------------------------------------------------- the driver contract
def test_a_container_is_created_once_and_deleted(service):
    d = new_driver(service)
    assert not d.container_exists()
    d.create_container()
    d.create_container()  # already ours: no error
    assert d.container_exists()
    d.delete_container()
    assert not d.container_exists()
    d.delete_container()  # gone already: no error
    assert d.head("k") is None and list(d.list("")) == []


def test_put_get_and_head_with_metadata(driver):
    assert driver.put("a/x", b"hello", metadata={"toil-executable": "1"})
    assert driver.get("a/x") == b"hello"
    info = driver.head("a/x")
    assert info is not None and info.key == "a/x" and info.size == 5
    assert info.metadata == {"toil-executable": "1"}
    assert driver.put("a/x", b"replaced")  # a plain put replaces, metadata and all
    info = driver.head("a/x")
    assert driver.get("a/x") == b"replaced" and info is not None and info.metadata == {}
    assert driver.put("empty", b"") and driver.get("empty") == b""


def test_a_missing_key(driver, tmp_path):
    assert driver.head("missing") is None
    with pytest.raises(KeyError):
        driver.get("missing")
    with pytest.raises(KeyError):
        driver.get_range("missing", 0, 3)
    with pytest.raises(KeyError):
        with driver.open_read("missing"):
            pass
    with pytest.raises(KeyError):
        driver.download_file("missing", str(tmp_path / "out"))


def test_get_range(driver):
    driver.put("r", b"0123456789")
    assert driver.get_range("r", 2, 3) == b"234"
    assert driver.get_range("r", 8, 10) == b"89"  # fewer at the end
    assert driver.get_range("r", 10, 5) == b""  # at the end
    assert driver.get_range("r", 20, 5) == b""  # past it
    assert driver.get_range("r", 0, 0) == b""


def test_list_is_in_key_order(driver):
    keys = ["b", "a/z", "a/y", "A", "a/x0", "a-", "a/x"]
    for key in keys:
        driver.put(key, key.encode())
    assert [i.key for i in driver.list("")] == sorted(keys)
    listed = list(driver.list("a/"))
    assert [i.key for i in listed] == ["a/x", "a/x0", "a/y", "a/z"]
    assert [i.size for i in listed] == [3, 4, 3, 3]
    assert list(driver.list("nothing/")) == []


def test_delete_present_and_missing_keys(driver):
    for key in ("k1", "k2", "k3"):
        driver.put(key, b"1")
    driver.delete(["k1", "missing", "k3"])
    assert [i.key for i in driver.list("")] == ["k2"]
    driver.delete(["missing"])
    driver.delete([])
    driver.delete(["k2"])
    assert list(driver.list("")) == []


def test_create_only_refuses_an_existing_key(driver):
    assert driver.put("seg", b"first", create_only=True)
    assert not driver.put("seg", b"second", create_only=True)
    assert driver.get("seg") == b"first"


def test_a_stream_larger_than_a_part_is_written_in_parts(driver):
    data = _data(4 * PART + 1234)
    with driver.open_write("big", {"toil-executable": "0"}) as out:
        for i in range(0, len(data), 100_000):  # writes that do not line up with parts
            out.write(data[i : i + 100_000])
    # it went up in parts (the library's resumable upload, or staged blocks), not as one request
    assert getattr(out, "upload", None) is not None or len(getattr(out, "blocks", [])) == 5
    assert driver.get("big") == data
    info = driver.head("big")
    assert info is not None and info.size == len(data) and info.metadata == {"toil-executable": "0"}


def test_a_small_stream_is_one_object(driver):
    with driver.open_write("small") as out:
        out.write(b"tiny")
    assert driver.get("small") == b"tiny"


def test_a_stream_that_fails_makes_no_object(driver):
    with pytest.raises(RuntimeError):
        with driver.open_write("half") as out:
            out.write(_data(2 * PART + 10))  # parts already sent
            raise RuntimeError("the writer died")
    assert driver.head("half") is None
    assert list(driver.list("")) == []


def test_open_read_in_small_reads_and_whole(driver):
    data = _data(3 * PART + 77)
    driver.put("r", data)
    with driver.open_read("r") as f:
        parts = []
        while chunk := f.read(50_000):
            parts.append(chunk)
        assert b"".join(parts) == data
    with driver.open_read("r") as f:
        assert f.read() == data
    with driver.open_read("r") as f:
        assert io.BufferedReader(f).read(10) == data[:10]


def test_upload_and_download_a_file(driver, tmp_path):
    src = tmp_path / "src"
    data = _data(3 * PART + 5)
    src.write_bytes(data)
    driver.upload_file("f", str(src), {"toil-executable": "1"})
    info = driver.head("f")
    assert info is not None and info.size == len(data) and info.metadata == {"toil-executable": "1"}
    dest = tmp_path / "dest"
    driver.download_file("f", str(dest))
    assert dest.read_bytes() == data


# ---------------------------------------------------------------------- retries and errors
def test_a_part_that_fails_for_a_moment_is_sent_again(driver, monkeypatch):
    """The store cannot retry a stream as a whole: each part is retried by its policy (and counted)."""
    failures = {"left": 1}
    if isinstance(driver, gcs.GCSDriver):
        session = driver.client._http
        real = session.request

        def flaky(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "PUT" and "upload_id" in url and failures["left"]:
                failures["left"] -= 1
                raise ConnectionError("reset by peer")
            return real(method, url, *args, **kwargs)

        monkeypatch.setattr(session, "request", flaky)
        op = "upload_part"
    else:
        from azure.core.exceptions import ServiceResponseError
        from azure.storage.blob import BlobClient

        real_stage = BlobClient.stage_block

        def flaky_stage(self: Any, *args: Any, **kwargs: Any) -> Any:
            if failures["left"]:
                failures["left"] -= 1
                raise ServiceResponseError("reset by peer")
            return real_stage(self, *args, **kwargs)

        monkeypatch.setattr(BlobClient, "stage_block", flaky_stage)
        op = "stage_block"
    before = fs_retry.RETRIED[op]
    data = _data(2 * PART + 3)
    with driver.open_write("retried") as out:
        out.write(data)
    assert failures["left"] == 0 and fs_retry.RETRIED[op] == before + 1
    assert driver.get("retried") == data


def test_errors_are_told_apart(service):
    d = new_driver(service)
    if service == "gcs":
        from google.api_core import exceptions as gexc

        transient: list[BaseException] = [gexc.TooManyRequests("slow"), gexc.ServiceUnavailable("x"), ConnectionError()]
        lasting: list[BaseException] = [gexc.NotFound("x"), gexc.PreconditionFailed("x"), gexc.Forbidden("x")]
        assert "access denied to gs://" in (d.user_error(gexc.Forbidden("no")) or "")
    else:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

        busy, denied = HttpResponseError("busy"), HttpResponseError("denied")
        busy.status_code, denied.status_code = 503, 403
        transient = [busy, ServiceRequestError("refused"), ConnectionError()]
        lasting = [ResourceNotFoundError("x"), denied]
        assert "access denied to azure://" in (d.user_error(denied) or "")
    assert all(d.is_transient(e) for e in transient)
    assert not any(d.is_transient(e) for e in lasting)
    assert d.user_error(ValueError("x")) is None


def test_an_emulator_that_does_not_answer_is_one_line(service, monkeypatch):
    if service == "gcs":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    else:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE.replace(":10000", ":9"))
    monkeypatch.setenv("TOIL_JOBSTORE_RETRIES", "2")
    with pytest.raises(ToilUserError, match="cannot reach"):
        RetryingDriver(new_driver(service)).head("k")


def test_no_google_credentials_is_one_line(monkeypatch, tmp_path):
    for name in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud login
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # and no asking a metadata server off this machine
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    if os.path.exists(gcs.NODE_SERVICE_ACCOUNT):
        pytest.skip(f"{gcs.NODE_SERVICE_ACCOUNT} exists here")
    with pytest.raises(ToilUserError, match="no Google credentials found for gs://run--toil: set GOOGLE_APPLI"):
        RetryingDriver(gcs.GCSDriver("p", "run--toil")).head("k")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nope.json"))
    with pytest.raises(ToilUserError, match="GOOGLE_APPLICATION_CREDENTIALS names .*nope.json"):
        RetryingDriver(gcs.GCSDriver("p", "run--toil")).head("k")


def test_azure_credentials(monkeypatch, tmp_path):
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_KEY",
        "AZURE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AZURE_ACCOUNT_KEY_acct", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(
        ToilUserError, match="no Azure credentials .*AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY"
    ):
        RetryingDriver(azure.AzureDriver("acct", "run-toil")).head("k")
    (tmp_path / ".toilAzureCredentials").write_text("[AzureStorageCredentials]\nacct = a2V5\n")
    assert azure.account_key("acct") == "a2V5"  # the old Azure job store's file still works
    monkeypatch.setenv("AZURE_STORAGE_KEY", "not base64!")  # the Azure CLI's variable comes before it
    with pytest.raises(ToilUserError, match="access key found for the Azure storage account 'acct' is not base64"):
        RetryingDriver(azure.AzureDriver("acct", "run-toil")).head("k")
    monkeypatch.setenv("AZURE_ACCOUNT_KEY_acct", "b3RoZXI=")
    assert azure.account_key("acct") == "b3RoZXI="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE)
    with pytest.raises(ToilUserError, match="AZURE_STORAGE_CONNECTION_STRING is for the storage account"):
        RetryingDriver(azure.AzureDriver("acct", "run-toil")).head("k")


def test_azure_refuses_a_wrong_key_in_one_line(monkeypatch):
    point_at_emulator("azure", monkeypatch)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE.replace(AZURITE_KEY, "d3Jvbmc=" * 11))
    with pytest.raises(ToilUserError, match="(refused|access denied) .*azure://devstoreaccount1/"):
        RetryingDriver(new_driver("azure")).container_exists()


# ---------------------------------------------------------------------- --sseKey
def test_an_encryption_key(service, monkeypatch):
    key = os.urandom(32)
    if service == "azure":
        # Azure takes customer-provided keys over HTTPS only, and Azurite is reached over http
        with pytest.raises(ToilUserError, match="--sseKey: azure://.* over http, and needs HTTPS"):
            new_driver(service).set_encryption_key(key)
        return
    d = new_driver(service)
    d.create_container()
    try:
        d.set_encryption_key(key)
        d.put("secret", b"s3cret")  # the emulator takes the key's headers (it does not encrypt)
        assert d.get("secret") == b"s3cret" and d.get_range("secret", 1, 2) == b"3c"
        with d.open_read("secret") as f:
            assert f.read() == b"s3cret"
    finally:
        d.delete([i.key for i in d.list("")])
        d.delete_container()


# ---------------------------------------------------------------------- gs:// URLs
def test_gs_urls(monkeypatch, tmp_path):
    point_at_emulator("gcs", monkeypatch)
    from toil.runtime.jobstores.object.urls import gs_handler

    d = gcs.GCSDriver("toil-test", f"u-{uuid.uuid4().hex[:16]}--toil")
    d.create_container()
    try:
        handler = gs_handler()
        url = f"gs://{d.bucket}/in/data.bin"
        assert not handler.exists(url)
        data = _data(PART + 9)
        handler.write(url, io.BytesIO(data))
        assert handler.exists(url) and handler.size(url) == len(data)
        with handler.open_read(url) as f:
            assert f.read() == data
        with pytest.raises(ToilUserError, match="no such object"):
            handler.size(f"gs://{d.bucket}/nothing")
    finally:
        d.delete([i.key for i in d.list("")])
        d.delete_container()


# ---------------------------------------------------------------------- the whole job store
def test_the_object_job_store(service, monkeypatch, tmp_path):
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "node"))
    name = f"s-{uuid.uuid4().hex[:16]}"
    locator = f"google:toil-test:{name}" if service == "gcs" else f"azure:{AZURITE_ACCOUNT}:{name}"
    store = open_job_store(locator)
    assert not store.exists()
    store.create({"workflow_id": "w", "config": {"a": 1}})
    try:
        again = open_job_store(locator)
        assert again.exists() and again.read_meta()["workflow_id"] == "w"

        # the lease: one leader at a time
        store.lock_leader()
        with pytest.raises(JobStoreLockedError):
            open_job_store(locator).lock_leader()
        assert open_job_store(locator).leader_lease_held()

        # the journal: synced records and a snapshot, as another handle loads them
        journal = store.journal()
        assert journal.load() == (None, [])
        journal.append([{"t": "a"}, {"t": "b"}])
        journal.sync()
        assert open_job_store(locator).journal().load() == (None, [{"t": "a"}, {"t": "b"}])
        journal.write_snapshot({"root": "r"})
        journal.append([{"t": "c"}])
        journal.sync()
        snapshot, records = open_job_store(locator).journal().load()
        assert snapshot is not None and snapshot["state"] == {"root": "r"} and records == [{"t": "c"}]

        # files: written whole and as a stream larger than a part, read back by another handle
        src = tmp_path / "f.bin"
        data = _data(2 * PART + 1)
        src.write_bytes(data)
        os.chmod(src, 0o755)
        file_id, size, executable = store.write_file(str(src))
        assert size == len(data) and executable and again.file_is_executable(file_id)
        again.read_file(file_id, str(tmp_path / "copy"))
        assert (tmp_path / "copy").read_bytes() == data
        with store.write_file_stream("s.bin") as (out, stream_id):
            out.write(data)
        with open_job_store(locator).read_file_stream(stream_id) as f:
            assert f.read() == data
        assert again.get_file_size(stream_id) == len(data) and not again.file_is_executable(stream_id)
        store.delete_file(file_id)
        assert not again.file_exists(file_id)
        store.write_shared_file("config.json", b"{}")
        assert again.read_shared_file("config.json") == b"{}"
        store.unlock_leader()
        assert not again.leader_lease_held()
    finally:
        store.unlock_leader()
        store.destroy()
    assert not open_job_store(locator).exists()
    assert not new_driver_for(locator).container_exists()


def new_driver_for(locator: str) -> ObjectDriver:
    scheme, _, rest = locator.partition(":")
    if scheme == "google":
        project, bucket = gcs.parse_google_locator(rest)
        return gcs.GCSDriver(project, bucket)
    return azure.AzureDriver(*azure.parse_azure_locator(rest))
