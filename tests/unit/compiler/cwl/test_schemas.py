"""cwltool's parsed CWL schemas cached between runs."""

import argparse
import os

import pytest

pytest.importorskip("cwltool")

from cwltool import process  # noqa: E402

from toil.compiler.cwl.schemas import STANDARD_VERSIONS, cache_dir, setup_schemas  # noqa: E402


def test_schemas_are_saved_then_read_back_and_a_damaged_cache_is_replaced(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    args = argparse.Namespace(enable_ext=False)
    setup_schemas(args)
    paths = [os.path.join(cache_dir(), f"{v}.pickle") for v in STANDARD_VERSIONS]
    assert all(os.path.getsize(p) > 10000 for p in paths)
    fresh = process.SCHEMA_CACHE["v1.2"]
    with open(paths[0], "wb") as f:
        f.write(b"not a pickle")
    setup_schemas(args)
    cached = process.SCHEMA_CACHE["v1.2"]
    assert cached is not fresh  # read from the cache, not re-parsed
    assert sorted(cached[1].names) == sorted(fresh[1].names)  # the same schema
    assert os.path.getsize(paths[0]) > 10000  # the damaged file was replaced


def test_extensions_are_not_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    setup_schemas(argparse.Namespace(enable_ext=True))
    assert not os.path.exists(cache_dir())
    setup_schemas(argparse.Namespace(enable_ext=False))  # leave cwltool's standard schemas in place
