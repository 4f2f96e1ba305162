"""The source text of a workflow's documents, shipped to the workers through the job store.

A front end loads its document at the leader through a reader that notes
the text of every source file the load read (the document, its imports, the
tools it runs), keyed as the loader asked for it, and what the loader learnt
on the way (which file an import resolved to, whether a linked file exists).
The leader writes that collection into the job store (``save``) and names
its file in the front end's record (``RECORD_KEY``). A worker that did not
inherit the loaded document loads it again from that copy (``from_record``)
through a reader that answers from it, so it needs none of the leader's
files, and its load names everything by the same URIs and paths as the
leader's did (nodes address processes, tasks and sources by them).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toil.runtime.jobstores.base import JobStore

RECORD_KEY = "sources"  # the front end's record names the job store file holding the sources by this key
_read: dict[tuple[str, str], Sources] = {}  # (job store, file id) -> what a worker read (read once per process)
_lock = threading.Lock()


class Sources:
    """Texts of source files by key (a URI, a path), and the loader's other findings (JSON values) by key."""

    def __init__(self, texts: dict[str, str] | None = None, facts: dict[str, Any] | None = None) -> None:
        self.texts: dict[str, str] = dict(texts or {})
        self.facts: dict[str, Any] = dict(facts or {})

    def note(self, key: str, text: str) -> None:
        self.texts[key] = text

    def text(self, key: str) -> str | None:
        return self.texts.get(key)

    def note_fact(self, key: str, value: Any) -> None:
        self.facts[key] = value

    def fact(self, key: str) -> Any:
        """What the loader found for ``key`` (None when it asked nothing of the kind)."""
        return self.facts.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.texts

    def __len__(self) -> int:
        return len(self.texts)

    def to_json(self) -> dict[str, Any]:
        return {"texts": self.texts, "facts": self.facts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sources:
        return cls(dict(data.get("texts") or {}), dict(data.get("facts") or {}))

    def save(self, job_store: JobStore) -> str:
        """Write the sources into the job store (with the workflow's files); return the file's ID."""
        with job_store.write_file_stream(basename="document-sources.json") as (f, file_id):
            f.write(json.dumps(self.to_json()).encode())
        return str(file_id)

    @classmethod
    def read(cls, job_store: JobStore, file_id: str) -> Sources:
        """The sources the leader saved (read once per process and job store)."""
        key = (str(getattr(job_store, "locator", id(job_store))), file_id)
        with _lock:
            if key not in _read:
                with job_store.read_file_stream(file_id) as f:
                    _read[key] = cls.from_json(json.loads(f.read()))
            return _read[key]


def from_record(job_store: JobStore, record: dict[str, Any] | None) -> Sources | None:
    """The sources a front end's record names, or None (a record of a run that shipped none)."""
    file_id = (record or {}).get(RECORD_KEY)
    return Sources.read(job_store, str(file_id)) if file_id else None
