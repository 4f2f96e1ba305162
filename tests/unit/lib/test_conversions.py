from __future__ import annotations

import pytest

from toil.lib.conversions import bytes2human, human2bytes, strtobool


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1024", 1024),
        ("2G", 2 * 10**9),
        ("2Gi", 2 * 2**30),
        ("100Mi", 100 * 2**20),
        ("1.5 Ki", 1536),
        ("10k", 10_000),
        ("3GB", 3 * 10**9),
        ("1GiB", 2**30),
        (512, 512),
    ],
)
def test_human2bytes(text, expected):
    assert human2bytes(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "1Q", "G2"])
def test_human2bytes_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        human2bytes(bad)


def test_bytes2human():
    assert bytes2human(2 * 2**30) == "2.0 Gi"
    assert bytes2human(0) == "0.0 b"


def test_strtobool():
    assert strtobool("Yes") is True and strtobool("off") is False
    with pytest.raises(ValueError):
        strtobool("maybe")
