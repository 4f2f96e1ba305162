"""Runtime sections onto IR resources."""

from __future__ import annotations

import pytest
from WDL import Value

from toil.compiler.ir import Resources
from toil.compiler.wdl.resources import GIB, clamp, disk_bytes, from_runtime

DEFAULTS = Resources(1.0, 2 * GIB, 3 * GIB)


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("local-disk 10 SSD", 10 * GIB),
        ("local-disk 10 HDD", 10 * GIB),
        ("10 GiB", 10 * GIB),
        ("500 MiB", 500 * 1024 * 1024),
        ("local-disk 5 HDD, /mnt/data 2 SSD", 7 * GIB),
        ("4", 4 * GIB),
    ],
)
def test_disks(spec, expected):
    assert disk_bytes(spec) == expected


def test_cpu_memory_disk_and_defaults():
    r = from_runtime(
        {"cpu": Value.Float(1.5), "memory": Value.String("3 GiB"), "disks": Value.String("local-disk 20 SSD")}, DEFAULTS
    )
    assert (r.resources.cores, r.resources.memory, r.resources.disk) == (2.0, 3 * GIB, 20 * GIB)
    assert from_runtime({}, DEFAULTS).resources == DEFAULTS


def test_gpu_preemptible_and_retries():
    r = from_runtime(
        {
            "gpu": Value.Boolean(True),
            "gpuCount": Value.Int(2),
            "gpuType": Value.String("nvidia-t4"),
            "preemptible": Value.Int(3),
            "maxRetries": Value.Int(2),
        },
        DEFAULTS,
    )
    assert r.resources.accelerator_list == [{"count": 2, "kind": "gpu", "model": "nvidia-t4"}]
    assert r.resources.preemptible and r.preemptible_tries == 3
    assert r.retries == 2
    none = from_runtime({"gpu": Value.Boolean(False), "preemptible": Value.Int(0)}, DEFAULTS)
    assert none.resources.accelerators == () and not none.resources.preemptible and none.retries is None


def test_bad_size_is_a_clear_error():
    from toil.exceptions import ToilUserError

    with pytest.raises(ToilUserError, match="memory"):
        from_runtime({"memory": Value.String("lots")}, DEFAULTS)


def test_clamp_only_cuts_what_exceeds():
    big = Resources(8.0, 64 * GIB, 100 * GIB)
    assert clamp(big, Resources(2.0, 4 * GIB, 10 * GIB)) == Resources(2.0, 4 * GIB, 10 * GIB)
    assert clamp(big, None) == big
