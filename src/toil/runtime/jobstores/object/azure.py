"""Azure Blob Storage: the ``azure:ACCOUNT:NAME`` job store's driver.

Toil 9.x has no Azure job store. The one Toil had until 2019 (azureJobStore.py, removed in PR #2860)
took ``azure:ACCOUNT:NAME`` with NAME of lower-case letters, digits and single hyphens, and spread a
store over several containers and tables; this one keeps a store in one container, ``NAME-toil``: Azure
container names may not hold ``--``, so the ``NAME--toil`` of Toil's other stores cannot be used.
Credentials are the first found of: AZURE_STORAGE_CONNECTION_STRING (how the Azurite emulator is
reached); an account key from AZURE_ACCOUNT_KEY_<ACCOUNT>, AZURE_STORAGE_KEY, AZURE_ACCOUNT_KEY or
~/.toilAzureCredentials (the old store's variables and file, and the Azure CLI's); AZURE_STORAGE_SAS_TOKEN.
The SDK makes one attempt per call (the store's retries wait and log); create-only writes use
``If-None-Match: *``; streams are staged as blocks and committed at the end; --sseKey is a
customer-provided key, which Azure takes over HTTPS only.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import io
import logging
import os
import re
import uuid
from contextlib import contextmanager
from typing import IO, Any, Iterator, Sequence

from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    IncompleteReadError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobBlock, BlobServiceClient, ContainerClient, CustomerProvidedEncryptionKey

from toil.exceptions import ToilUserError
from toil.runtime.jobstores.object.driver import Metadata, ObjectDriver, ObjectInfo, PerProcess, delete_each
from toil.runtime.jobstores.object.parts import PartWriter, streamed
from toil.runtime.jobstores.object.retry import call_retrying

log = logging.getLogger(__name__)

#: bytes per block of a streamed or large upload, and per part of a streamed read
PART_SIZE = 16 << 20
#: the old Azure job store's file of account keys ([AzureStorageCredentials] ACCOUNT = KEY)
CREDENTIALS_FILE = "~/.toilAzureCredentials"
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_MAX_NAME = 63 - len("-toil")
_TRANSIENT_CODES = frozenset(
    {"ServerBusy", "OperationTimedOut", "InternalError", "ContainerBeingDeleted", "IncrementalCopyOfEarlierVersion"}
)
_REFUSED_CODES = frozenset({"AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation"})
_META_ESCAPE = re.compile(r"_([0-9a-f]{2})_")


def parse_azure_locator(rest: str) -> tuple[str, str]:
    """ACCOUNT:NAME -> (storage account, container ``NAME-toil``); ToilUserError in one line."""
    account, sep, name = rest.partition(":")
    if not sep or not account or not name:
        raise ToilUserError(f"job store locator 'azure:{rest}': use azure:ACCOUNT:NAME (e.g. azure:mystorage:run1)")
    if not _ACCOUNT.match(account):
        raise ToilUserError(
            f"job store locator 'azure:{rest}': invalid storage account {account!r}: 3 to 24 lower-case letters "
            f"and digits"
        )
    if not 3 <= len(name) <= _MAX_NAME:
        raise ToilUserError(f"job store locator 'azure:{rest}': the name must be 3 to {_MAX_NAME} characters long")
    if not _NAME.match(name):
        raise ToilUserError(
            f"job store locator 'azure:{rest}': invalid name {name!r}: use lower-case letters, digits and single "
            f"hyphens, neither first nor last"
        )
    return account, f"{name}-toil"


def account_key(account: str) -> str | None:
    """The account's key from the environment or the old job store's credentials file, or None."""
    for variable in (f"AZURE_ACCOUNT_KEY_{account}", "AZURE_STORAGE_KEY", "AZURE_ACCOUNT_KEY"):
        if os.environ.get(variable):
            return os.environ[variable]
    parser = configparser.RawConfigParser()
    parser.read(os.path.expanduser(CREDENTIALS_FILE))
    return parser.get("AzureStorageCredentials", account, fallback=None)


def _connection_account(connection_string: str) -> str | None:
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    return fields.get("AccountName")


def make_service(account: str) -> BlobServiceClient:
    """A client of the account with the SDK's retries off, from the first credentials found; else one line."""
    options: dict[str, Any] = {
        "retry_total": 0,
        "max_single_put_size": PART_SIZE,
        "max_block_size": PART_SIZE,
    }
    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        named = _connection_account(connection_string)
        if named is not None and named != account:
            raise ToilUserError(
                f"AZURE_STORAGE_CONNECTION_STRING is for the storage account {named!r}, not {account!r}: unset it "
                f"or use azure:{named}:NAME"
            )
        return BlobServiceClient.from_connection_string(connection_string, **options)
    url = f"https://{account}.blob.core.windows.net"
    key = account_key(account)
    if key:
        try:
            base64.b64decode(key, validate=True)
        except ValueError:  # else every request fails to sign, with an error that names no variable
            raise ToilUserError(
                f"the access key found for the Azure storage account {account!r} is not base64"
            ) from None
        return BlobServiceClient(url, credential=AzureNamedKeyCredential(account, key), **options)
    sas = os.environ.get("AZURE_STORAGE_SAS_TOKEN")
    if sas:
        return BlobServiceClient(url, credential=AzureSasCredential(sas.lstrip("?")), **options)
    raise ToilUserError(
        f"no Azure credentials for the storage account {account!r}: set AZURE_STORAGE_CONNECTION_STRING, "
        f"AZURE_STORAGE_KEY (the account's access key) or AZURE_STORAGE_SAS_TOKEN"
    )


def _code(error: BaseException) -> str:
    code = getattr(error, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _status(error: BaseException) -> int:
    return int(getattr(error, "status_code", 0) or 0) if isinstance(error, HttpResponseError) else 0


def _encode_name(name: str) -> str:
    return "".join(
        chr(b) if chr(b).isalnum() and b < 128 and not (i == 0 and chr(b).isdigit()) else f"_{b:02x}_"
        for i, b in enumerate(name.encode())
    )


def _decode_name(name: str) -> str:
    return _META_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name).encode("latin-1").decode("utf-8", "replace")


def encode_metadata(metadata: Metadata | None) -> dict[str, str] | None:
    """Metadata names as Azure takes them (C# identifiers): each byte of anything else, '_' too, is ``_hh_``."""
    return {_encode_name(k): v for k, v in metadata.items()} if metadata else None


def decode_metadata(metadata: Metadata | None) -> dict[str, str]:
    """The names encode_metadata wrote, as they were."""
    return {_decode_name(k): v for k, v in (metadata or {}).items()}


class AzureDriver(ObjectDriver):
    """One container of an Azure storage account."""

    scheme = "azure"

    def __init__(self, account: str, container: str) -> None:
        self.account = account
        self.container = container
        self.cpk: CustomerProvidedEncryptionKey | None = None
        self._service = PerProcess(lambda: make_service(self.account))

    @property
    def where(self) -> str:
        return f"azure://{self.account}/{self.container}"

    @property
    def service(self) -> BlobServiceClient:
        """The account's client, made on first use (so that opening a store needs no credentials yet)."""
        return self._service.get()

    @property
    def _container(self) -> ContainerClient:
        return self.service.get_container_client(self.container)

    def set_encryption_key(self, key: bytes | None) -> None:
        if key is None:
            self.cpk = None
            return
        if self.service.scheme != "https":  # the SDK (and Azure) take customer-provided keys over HTTPS only
            raise ToilUserError(f"--sseKey: {self.where} is reached over {self.service.scheme}, and needs HTTPS")
        self.cpk = CustomerProvidedEncryptionKey(
            key_value=base64.b64encode(key).decode(), key_hash=base64.b64encode(hashlib.sha256(key).digest()).decode()
        )

    # -- the container
    def container_exists(self) -> bool:
        return self._container.exists()

    def create_container(self) -> None:
        try:
            self._container.create_container()  # no public access: private
        except ResourceExistsError as e:
            if _code(e) != "ContainerAlreadyExists":  # ContainerBeingDeleted: transient
                raise
        except HttpResponseError as e:
            if _status(e) == 400:
                raise ToilUserError(f"cannot create the container {self.where}: {_code(e) or e.message}") from None
            raise

    def delete_container(self) -> None:
        try:
            self._container.delete_container()
        except ResourceNotFoundError:
            pass

    # -- objects
    def put(self, key: str, data: bytes, *, create_only: bool = False, metadata: Metadata | None = None) -> bool:
        try:
            self._container.upload_blob(
                key, data, overwrite=not create_only, metadata=encode_metadata(metadata), cpk=self.cpk
            )
            return True
        except (ResourceExistsError, ResourceModifiedError):
            if create_only:
                return False
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._container.download_blob(key, cpk=self.cpk).readall()
        except ResourceNotFoundError:
            raise KeyError(key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            return self._container.download_blob(key, offset=start, length=length, cpk=self.cpk).readall()
        except ResourceNotFoundError:
            raise KeyError(key) from None
        except HttpResponseError as e:
            if _status(e) == 416:  # start past the end
                return b""
            raise

    def head(self, key: str) -> ObjectInfo | None:
        try:
            props = self._container.get_blob_client(key).get_blob_properties(cpk=self.cpk)
        except ResourceNotFoundError:
            return None
        return ObjectInfo(key, int(props.size or 0), decode_metadata(props.metadata))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Azure lists blob names in lexicographic order, page after page
        try:
            for blob in self._container.list_blobs(name_starts_with=prefix or None):
                yield ObjectInfo(blob.name, int(blob.size or 0))
        except ResourceNotFoundError:
            return

    def delete(self, keys: Sequence[str]) -> None:
        delete_each(keys, self._delete_one)  # batch deletes are not in every emulator

    def _delete_one(self, key: str) -> None:
        try:
            self._container.delete_blob(key)
        except ResourceNotFoundError:
            pass

    # -- transfers
    def upload_file(self, key: str, local_path: str, metadata: Metadata | None = None) -> None:
        with open(local_path, "rb") as f:
            self._container.upload_blob(
                key,
                f,
                length=os.fstat(f.fileno()).st_size,
                overwrite=True,
                metadata=encode_metadata(metadata),
                cpk=self.cpk,
                max_concurrency=4,
            )

    def download_file(self, key: str, local_path: str) -> None:
        try:
            download = self._container.download_blob(key, cpk=self.cpk, max_concurrency=4)
        except ResourceNotFoundError:
            raise KeyError(key) from None
        with open(local_path, "wb") as f:
            download.readinto(f)

    @contextmanager
    def open_write(self, key: str, metadata: Metadata | None = None) -> Iterator[IO[bytes]]:
        with streamed(_BlockWriter(self, key, metadata)) as stream:
            yield stream

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        try:
            props = self._container.get_blob_client(key).get_blob_properties(cpk=self.cpk)
        except ResourceNotFoundError:
            raise KeyError(key) from None
        reader = _RangeReader(self, key, int(props.size or 0), str(props.etag))
        try:
            yield reader  # type: ignore[misc]
        finally:
            reader.close()

    # -- errors
    def is_transient(self, error: BaseException) -> bool:
        if isinstance(error, (ServiceRequestError, ServiceResponseError, IncompleteReadError)):
            return True  # no connection, a connection that broke, a body cut short
        if isinstance(error, HttpResponseError) and not isinstance(error, ClientAuthenticationError):
            status = _status(error)
            return status in (408, 429) or status >= 500 or _code(error) in _TRANSIENT_CODES
        return isinstance(error, (ConnectionError, TimeoutError))

    def user_error(self, error: BaseException) -> str | None:
        code = _code(error)
        if isinstance(error, ClientAuthenticationError) or code in _REFUSED_CODES:
            return f"the Azure credentials were refused for {self.where} ({code or _status(error)})"
        if _status(error) == 403:
            return f"access denied to {self.where} ({code}): the credentials in use may not read or write it"
        if isinstance(error, ServiceRequestError):
            return f"cannot reach Azure Blob storage for {self.where} at {self.service.url}: {error.message}"
        return None


class _BlockWriter(PartWriter):
    """Blocks staged as each fills and committed as the blob at the end; uncommitted blocks are never a blob."""

    def __init__(self, driver: AzureDriver, key: str, metadata: Metadata | None) -> None:
        super().__init__(driver, key, metadata, PART_SIZE)
        self.azure = driver
        self.blocks: list[str] = []
        self.prefix = uuid.uuid4().hex  # block IDs of one blob must all be as long; unique to this writer

    def send_part(self, chunk: bytes, number: int) -> None:
        d = self.azure
        block = f"{self.prefix}{number:08d}"
        blob = d._container.get_blob_client(self.key)
        call_retrying(d, "stage_block", lambda: blob.stage_block(block, chunk, cpk=d.cpk))
        self.blocks.append(block)

    def complete(self) -> None:
        d = self.azure
        blob = d._container.get_blob_client(self.key)
        call_retrying(
            d,
            "commit_block_list",
            lambda: blob.commit_block_list(
                [BlobBlock(b) for b in self.blocks], metadata=encode_metadata(self.metadata), cpk=d.cpk
            ),
        )

    def cancel(self) -> None:
        """Nothing to do: staged blocks that no commit names are discarded by the service."""


class _RangeReader(io.RawIOBase):
    """A blob read in parts, each retried by the store's policy, all of the version found when it was opened."""

    def __init__(self, driver: AzureDriver, key: str, size: int, etag: str) -> None:
        self.driver, self.key, self.size, self.etag = driver, key, size, etag
        self.fetched = 0  # the offset of the next part to fetch
        self.buffer = bytearray()  # fetched and not yet read

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = self.size if size is None or size < 0 else size
        while len(self.buffer) < want and self.fetched < self.size:
            part = self._part(self.fetched, min(PART_SIZE, self.size - self.fetched))
            if not part:  # shorter than it was: the etag condition makes this an error first
                break
            self.buffer += part
            self.fetched += len(part)
        data = bytes(self.buffer[:want])
        del self.buffer[:want]
        return data

    def _part(self, start: int, length: int) -> bytes:
        d = self.driver

        def fetch() -> bytes:
            return d._container.download_blob(
                self.key,
                offset=start,
                length=length,
                cpk=d.cpk,
                etag=self.etag,
                match_condition=MatchConditions.IfNotModified,
            ).readall()

        return call_retrying(d, "read_part", fetch)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def driver_for_locator(rest: str) -> AzureDriver:
    """The driver a locator's rest (after the scheme) names; ToilUserError in one line if it is malformed."""
    return AzureDriver(*parse_azure_locator(rest))
