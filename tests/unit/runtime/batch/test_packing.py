"""The packing planner: probes, held jobs, packs by resource shape, withdrawals."""

from __future__ import annotations

from toil.compiler.ir import Resources
from toil.runtime.batch.base import BatchJob
from toil.runtime.batch.remote.packing import Packer, PackingPolicy


def job(i: int, name: str = "work", cores: float = 1.0, service: bool = False) -> BatchJob:
    return BatchJob(f"n{i}.0", f"n{i}", f"'{name}' n{i}", Resources(cores, 2**20, 2**20), {}, service, name)


def packer(**kw) -> Packer:
    return Packer(PackingPolicy(**{"pack_size": 3, "tiny_seconds": 10.0, "probe_grace": 5.0, **kw}))


def test_first_job_of_a_name_probes_the_rest_wait_then_pack():
    p = packer()
    assert p.offer(job(0), now=0.0) is True  # the probe runs alone
    assert [p.offer(job(i), now=0.0) for i in range(1, 8)] == [False] * 7
    assert p.due(now=1.0) == ([], []) and p.holding() == 7  # still waiting for the probe
    p.observe("work", 0.5)
    alone, packs = p.due(now=2.0)
    assert [len(x) for x in packs] == [3, 3] and len(alone) == 1  # a leftover single is not a pack
    assert p.holding() == 0
    assert p.offer(job(9), now=3.0) is False  # a known-tiny name goes straight to a pack


def test_a_leftover_single_job_is_not_a_pack():
    p = packer()
    p.observe("work", 1.0)
    for i in range(4):
        p.offer(job(i))
    alone, packs = p.due()
    assert [len(x) for x in packs] == [3] and len(alone) == 1


def test_a_slow_probe_makes_the_name_long_after_the_grace():
    p = packer()
    p.offer(job(0), now=0.0)
    p.offer(job(1), now=0.0)
    p.offer(job(2), now=0.0)
    alone, packs = p.due(now=6.0)
    assert [j.token for j in alone] == ["n1.0", "n2.0"] and packs == []
    assert p.offer(job(3), now=7.0) is True and p.is_tiny("work") is False


def test_long_names_services_shapes_and_disabled_policy():
    p = packer()
    p.observe("big", 60.0)
    assert p.offer(job(0, "big")) is True
    assert p.offer(job(1, "svc", service=True)) is True
    p.observe("work", 1.0)
    for i in range(3):
        p.offer(job(10 + i, cores=1.0))
        p.offer(job(20 + i, cores=2.0))
    _, packs = p.due()
    assert sorted({j.resources.cores for j in pk} for pk in packs) == [{1.0}, {2.0}]
    off = packer(enabled=False)
    off.observe("work", 1.0)
    assert off.offer(job(1)) is True


def test_withdraw_held_jobs():
    p = packer()
    p.offer(job(0))
    p.offer(job(1))
    p.observe("work", 1.0)
    p.offer(job(2))
    out = p.withdraw({"n1.0", "n2.0"})
    assert sorted(j.token for j in out) == ["n1.0", "n2.0"] and p.holding() == 0
