"""The S3 driver against moto_server: what it asks of the service (encryption keys, a private bucket)."""

from __future__ import annotations

import boto3
import pytest

from tests.objectstores import aws_locator, s3_env
from toil.runtime.config import Config
from toil.runtime.jobstores import open_job_store


@pytest.fixture
def aws(monkeypatch, tmp_path):
    for name, value in s3_env("moto").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path / "node"))
    store = open_job_store(aws_locator("driver"))
    store.create({"workflow_id": "w"})
    yield store
    store.destroy()


def sent_headers(store) -> list[tuple[str, dict[str, str]]]:
    """(key, headers) of every request the store's S3 client sends from now on."""
    sent: list[tuple[str, dict[str, str]]] = []

    def note(request, **_):
        sent.append((request.url.split("--toil/", 1)[-1].split("?")[0], dict(request.headers)))

    store.driver.inner.client.meta.events.register("before-send.s3", note)
    return sent


def test_sse_key_encrypts_the_workflow_data_and_leaves_what_status_reads_plain(aws, tmp_path):
    key_file = tmp_path / "sse.key"
    key_file.write_text("k" * 32)
    config = Config()
    config.sseKey = str(key_file)
    aws.config = config
    sent = sent_headers(aws)
    src = tmp_path / "data"
    src.write_bytes(b"secret")
    file_id, _, _ = aws.write_file(str(src))
    aws.write_return("n1", b"value")
    aws.write_status(b"{}")
    aws.journal().load()
    algorithm = "x-amz-server-side-encryption-customer-algorithm"
    encrypted = {k for k, headers in sent if algorithm in {h.lower() for h in headers}}
    assert f"files/{file_id}" in encrypted and "returns/n1" in encrypted
    assert "status.json" not in encrypted and not any(k.startswith("journal") for k in encrypted)


def test_a_bad_sse_key_is_one_line(aws, tmp_path):
    from toil.exceptions import ToilUserError

    key_file = tmp_path / "short.key"
    key_file.write_text("short")
    config = Config()
    config.sseKey = str(key_file)
    with pytest.raises(ToilUserError, match="the key must be 32 bytes long, found 5"):
        aws.config = config


def test_the_bucket_blocks_public_access(aws):
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:5000", region_name="us-west-2")
    bucket = aws.locator.rsplit(":", 1)[1] + "--toil"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))
