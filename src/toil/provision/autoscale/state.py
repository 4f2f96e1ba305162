"""The autoscaler's memory between decisions: serialisable, so it survives a leader restart."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class RuntimeStat:
    """How long jobs of one name took: how many finished, and their mean wall time (seconds)."""

    count: int = 0
    mean: float = 0.0

    def add(self, wall_time: float) -> RuntimeStat:
        """This statistic with one more finished job."""
        count = self.count + 1
        return RuntimeStat(count, self.mean + (wall_time - self.mean) / count)


@dataclass(frozen=True)
class NodeUsage:
    """One node this workflow launched: its type, its price, when it started and ended (None: still up)."""

    name: str
    type_key: str
    preemptible: bool
    hourly: float
    started: float
    ended: float | None = None


@dataclass(frozen=True)
class ScalerState:
    """Learned run times, smoothed node estimates, the spot deficit, and the nodes this workflow launched."""

    runtimes: dict[str, RuntimeStat] = field(default_factory=dict)
    overall: RuntimeStat = RuntimeStat()
    estimates: dict[str, float] = field(default_factory=dict)  # node type key -> smoothed wanted count
    spot_deficit: dict[str, int] = field(default_factory=dict)  # instance type -> spot nodes wanted but missing
    launched: tuple[str, ...] = ()  # node names this workflow launched (all removed when it ends)
    last_decision: float = 0.0
    usage: tuple[NodeUsage, ...] = ()  # every node launched, for node-hours and cost
    # name -> the longest any job of it has been seen running: kept when the job is lost with its node
    ran_at_least: dict[str, float] = field(default_factory=dict)

    def learn(self, name: str, wall_time: float) -> ScalerState:
        """This state with one finished job of ``name`` folded into the run times."""
        runtimes = dict(self.runtimes)
        runtimes[name] = runtimes.get(name, RuntimeStat()).add(wall_time)
        return replace(self, runtimes=runtimes, overall=self.overall.add(wall_time))

    def seen_running(self, running: Iterable[tuple[str, float]]) -> ScalerState:
        """This state knowing that jobs of these names have run this many seconds so far."""
        longest = dict(self.ran_at_least)
        for name, seconds in running:
            if seconds > longest.get(name, 0.0):
                longest[name] = seconds
        return replace(self, ran_at_least=longest)

    def to_json(self) -> str:
        """The state as JSON (what a restarted leader reads back with ``from_json``)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ScalerState:
        """A state written by ``to_json``."""
        raw = json.loads(text)
        return cls(
            runtimes={k: RuntimeStat(**v) for k, v in raw["runtimes"].items()},
            overall=RuntimeStat(**raw["overall"]),
            estimates={k: float(v) for k, v in raw["estimates"].items()},
            spot_deficit={k: int(v) for k, v in raw["spot_deficit"].items()},
            launched=tuple(raw["launched"]),
            last_decision=float(raw["last_decision"]),
            usage=tuple(NodeUsage(**u) for u in raw.get("usage", [])),
            ran_at_least={k: float(v) for k, v in raw.get("ran_at_least", {}).items()},
        )
