"""Fixtures of the runtime's unit tests."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.runtime.jobstores.memory_store import BACKENDS
from tests.unit.runtime.leader_run import STORE_KINDS


@pytest.fixture(params=STORE_KINDS)
def store_locator(request, tmp_path):
    """The locator of a job store not made yet: a file store in tmp_path, or a memory store (forgotten after)."""
    if request.param == "file":
        yield f"file:{tmp_path / 'js'}"
        return
    name = f"leader-{uuid.uuid4().hex}"
    yield f"memory:{name}"
    BACKENDS.pop(name, None)
