"""Job store kinds by locator scheme: a new store is one module and one ``register_job_store`` call.

``file:PATH`` opens a FileJobStore; ``aws:REGION:NAME``, ``google:PROJECT:NAME``
and ``azure:ACCOUNT:NAME`` open the one object-store job store with the
service's driver (runtime/jobstores/object/). Factories import their store
when first used, so parsing a locator loads no store (nor boto3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

JobStoreFactory = Callable[[str], "JobStore"]  # the locator after 'scheme:' -> the store


@dataclass(frozen=True)
class JobStoreKind:
    """How locators of one scheme open, and how they are made independent of the working directory."""

    factory: JobStoreFactory | None  # None: reserved, not available in this version
    normalize: Callable[[str], str] | None = None  # the rest of a locator as workers elsewhere must see it


_KINDS: dict[str, JobStoreKind] = {}


def register_job_store(
    scheme: str, factory: JobStoreFactory | None, normalize: Callable[[str], str] | None = None
) -> None:
    """Make ``scheme:REST`` locators open ``factory(REST)`` (None reserves the scheme for a later version)."""
    _KINDS[scheme] = JobStoreKind(factory, normalize)


def known_schemes() -> tuple[str, ...]:
    return tuple(_KINDS)


def job_store_kind(scheme: str) -> JobStoreKind:
    """The registered kind of a scheme that parse_locator accepted."""
    return _KINDS[scheme]


def open_store(scheme: str, rest: str) -> "JobStore":
    factory = _KINDS[scheme].factory
    if factory is None:
        raise ToilUserError(f"the {scheme}: job store is not available in this version; use a file: job store")
    return factory(rest)


def _file_store(rest: str) -> "JobStore":
    from toil.runtime.jobstores.file.store import FileJobStore

    return FileJobStore(rest)


def _file_path(rest: str) -> str:
    from toil.runtime.jobstores.file.store import normalize_path

    return normalize_path(rest)


def _object_store(scheme: str, module: str, extra: str) -> JobStoreFactory:
    """The factory of an object-store locator: the service's driver module parses the rest and makes its driver."""

    def factory(rest: str) -> "JobStore":
        import importlib

        try:
            driver_module = importlib.import_module(f"toil.runtime.jobstores.object.{module}")
        except ImportError as e:
            raise ToilUserError(f"the {scheme}: job store needs {e.name}: pip install 'toil[{extra}]'") from None
        from toil.runtime.jobstores.object.store import ObjectJobStore

        return ObjectJobStore(f"{scheme}:{rest}", driver_module.driver_for_locator(rest))

    return factory


register_job_store("file", _file_store, _file_path)
register_job_store("aws", _object_store("aws", "s3", "aws"))
register_job_store("google", _object_store("google", "gcs", "google"))
register_job_store("azure", _object_store("azure", "azure", "azure"))
