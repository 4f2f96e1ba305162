"""Which jobs to pack into shared scheduler allocations: a pure planner, fed with observed run times.

A scheduler job costs seconds of the scheduler's time and a queue slot, so a fan-out of thousands of
one-second jobs floods it (Toil's #2712). Jobs known to be short are instead grouped, by resource shape,
into packs that one allocation runs one after another (packrun.py). A job name is known to be short
once one of its jobs ran in under ``tiny_seconds``; until then, the first job of a name runs alone as a
probe and later ones wait for it up to ``probe_grace`` seconds, after which the name counts as long.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toil.runtime.batch.base import BatchJob
    from toil.runtime.config import Config

# A job's resource shape (cores, memory, disk, preemptible): jobs of one shape share packs.
Shape = tuple[float, int, int, bool]

TINY_SECONDS = 30.0
PROBE_GRACE = 15.0


@dataclass
class PackingPolicy:
    enabled: bool = True
    pack_size: int = 200  # most jobs per allocation
    tiny_seconds: float = TINY_SECONDS
    probe_grace: float = PROBE_GRACE

    @classmethod
    def from_config(cls, config: "Config") -> "PackingPolicy":
        return cls(enabled=config.packJobs, pack_size=config.packSize, tiny_seconds=config.packTinySeconds)


@dataclass
class _Held:
    job: BatchJob
    since: float


@dataclass
class Packer:
    """Decides, for each issued job, whether it runs alone or in a pack; holds jobs waiting on a probe."""

    policy: PackingPolicy
    runtimes: dict[str, float] = field(default_factory=dict)  # name -> longest observed run time
    probing: dict[str, float] = field(default_factory=dict)  # name -> when its probe was sent
    held: dict[str, list[_Held]] = field(default_factory=lambda: defaultdict(list))
    ready: dict[Shape, list[BatchJob]] = field(default_factory=lambda: defaultdict(list))  # shape -> jobs to pack

    def observe(self, name: str, seconds: float) -> None:
        """A job of this name ran for ``seconds``."""
        self.runtimes[name] = max(seconds, self.runtimes.get(name, 0.0))
        self.probing.pop(name, None)

    def is_tiny(self, name: str) -> bool | None:
        """True/False once known; None while unknown."""
        if name in self.runtimes:
            return self.runtimes[name] <= self.policy.tiny_seconds
        return None

    def offer(self, job: BatchJob, now: float | None = None) -> bool:
        """Take a job; True if it must be submitted alone now (a probe, a long job, a service)."""
        now = time.time() if now is None else now
        name = job.name or job.label
        if not self.policy.enabled or job.service or job.resources.accelerator_count:
            return True
        tiny = self.is_tiny(name)
        if tiny is True:
            self.ready[_shape(job)].append(job)
            return False
        if tiny is False:
            return True
        if name not in self.probing:
            self.probing[name] = now
            return True
        self.held[name].append(_Held(job, now))
        return False

    def due(self, now: float | None = None) -> tuple[list[BatchJob], list[list[BatchJob]]]:
        """(jobs to submit alone, packs to submit) as things stand now; empties what it returns."""
        now = time.time() if now is None else now
        alone: list[BatchJob] = []
        for name in list(self.held):  # held jobs share the name of a probe
            tiny = self.is_tiny(name)
            expired = now - self.probing.get(name, now) > self.policy.probe_grace
            if tiny is False or (tiny is None and expired):
                self.runtimes.setdefault(name, float("inf"))  # a slow probe: the name is not tiny
                alone += [h.job for h in self.held.pop(name)]
            elif tiny is True:
                for h in self.held.pop(name):
                    self.ready[_shape(h.job)].append(h.job)
        packs: list[list[BatchJob]] = []
        for shape in list(self.ready):
            jobs = self.ready.pop(shape)
            size = self.policy.pack_size
            for i in range(0, len(jobs), size):
                chunk = jobs[i : i + size]
                if len(chunk) == 1:
                    alone.append(chunk[0])
                else:
                    packs.append(chunk)
        return alone, packs

    def holding(self) -> int:
        return sum(len(v) for v in self.held.values()) + sum(len(v) for v in self.ready.values())

    def withdraw(self, tokens: set[str]) -> list[BatchJob]:
        """Remove held jobs (killed before they were submitted); return them."""
        out: list[BatchJob] = []
        for name in list(self.held):
            out += [h.job for h in self.held[name] if h.job.token in tokens]
            self.held[name] = [h for h in self.held[name] if h.job.token not in tokens]
            if not self.held[name]:
                del self.held[name]
        for shape in list(self.ready):
            out += [job for job in self.ready[shape] if job.token in tokens]
            self.ready[shape] = [job for job in self.ready[shape] if job.token not in tokens]
            if not self.ready[shape]:
                del self.ready[shape]
        return out


def _shape(job: BatchJob) -> Shape:
    r = job.resources
    return (r.cores, r.memory, r.disk, r.preemptible)
