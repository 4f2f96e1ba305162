"""The scaling policy: a pure function from the queue, the nodes, prices and options to a decision."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from toil.provision.autoscale.messages import unfit_message
from toil.provision.autoscale.state import ScalerState

GIB = 1024**3
BOOTING, UP, DRAINING, NOTICE = "booting", "up", "draining", "notice"
NODE_STATES = (BOOTING, UP, DRAINING, NOTICE)
MANY_SLOTS = 1000  # slots per node for a job that asks for nothing


@dataclass(frozen=True)
class JobDemand:
    """One queued or running job: its needs, and where and for how long it has run."""

    name: str
    cores: float
    memory: int
    disk: int
    accelerators: int = 0
    preemptible: bool = False
    node: str | None = None  # the node it runs on; None while queued
    running_for: float = 0.0  # seconds
    service: bool = False
    id: str = ""  # the job's id, for failing it when it fits nowhere


@dataclass(frozen=True)
class NodeStatus:
    """One worker node: its type, state (booting, up, draining, notice of preemption), whether jobs run on it."""

    name: str
    type_key: str
    state: str = UP
    busy: bool = False
    static: bool = False  # not launched by this workflow: never drained nor removed


@dataclass(frozen=True)
class NodeChoice:
    """A node type the policy may launch: its usable shape, its hourly price, its minimum and maximum count."""

    key: str  # as given in --nodeTypes, e.g. "c5.4xlarge:0.4"
    instance_type: str
    cores: float
    memory: int
    disk: int
    hourly: float
    preemptible: bool = False
    accelerators: int = 0
    min_count: int = 0
    max_count: int = 10


@dataclass(frozen=True)
class PolicyOptions:
    """Toil's autoscaling options, as the policy uses them."""

    target_time: float = 1800.0
    beta_inertia: float = 0.1
    preemptible_compensation: float = 0.0
    unknown_runtime: float = 60.0  # seconds assumed for a job name never seen finish, before any job finished
    min_remaining: float = 60.0  # seconds assumed left for a running job past its expected time
    assume_zero_overhead: bool = False
    notice_window: float = 120.0  # seconds between a spot interruption notice and the loss (AWS: two minutes)
    stretch_to_bottleneck: bool = True  # size other types to finish with a type held at its maximum, not sooner


@dataclass(frozen=True)
class Completion:
    """A job that finished since the last decision, and its wall time."""

    name: str
    wall_time: float


@dataclass(frozen=True)
class Launch:
    """Start ``count`` nodes of a node type."""

    key: str
    count: int


@dataclass(frozen=True)
class Unfit:
    """A job that no node type can run, and the one line that says so."""

    job: str  # the job's id (its name when it has none)
    message: str


@dataclass(frozen=True)
class Decision:
    """What to do now: launch, take draining nodes back, retire idle nodes (drain, then remove), drain busy ones."""

    state: ScalerState
    launch: tuple[Launch, ...] = ()
    undrain: tuple[str, ...] = ()
    retire: tuple[str, ...] = ()
    wanted: dict[str, int] = field(default_factory=dict)
    unfit: tuple[Unfit, ...] = ()
    drain: tuple[str, ...] = ()  # busy nodes to send no new jobs to: removed once idle


def usable(choice: NodeChoice, zero_overhead: bool) -> NodeChoice:
    """The shape jobs can use: less memory for the kubelet and system (as GKE reserves) and disk for the OS."""
    if zero_overhead:
        return choice
    memory = choice.memory - min(choice.memory // 4, GIB // 4 + choice.memory // 20)
    disk = choice.disk - min(choice.disk // 2, 4 * GIB + choice.disk // 20)
    return replace(choice, memory=memory, disk=disk)


def slots(choice: NodeChoice, job: JobDemand) -> int:
    """How many such jobs fit on one node of the type at once (0: it does not fit; preemptible respected)."""
    if choice.preemptible and not job.preemptible:
        return 0
    fits = [
        have / need
        for have, need in (
            (choice.cores, job.cores),
            (choice.memory, job.memory),
            (choice.disk, job.disk),
            (choice.accelerators, job.accelerators),
        )
        if need > 0
    ]
    return min(MANY_SLOTS, math.floor(min(fits))) if fits else MANY_SLOTS


def expected_runtime(state: ScalerState, job: JobDemand, options: PolicyOptions, longest: float = 0.0) -> float:
    """Seconds a job is expected to take: by name, else (bounded below by its kind's running ones) all, else a prior."""
    if job.service:
        return options.target_time * 24 + 3600  # services stay up: never pack two in one slot one after the other
    learned = state.runtimes.get(job.name)
    if learned is not None and learned.count:
        return learned.mean
    # none finished yet: one that has run X seconds is, as likely as not, half done
    return max(state.overall.mean if state.overall.count else options.unknown_runtime, 1.5 * longest)


def reissue_on_notice(
    jobs: Sequence[JobDemand], state: ScalerState, options: PolicyOptions, time_left: float
) -> tuple[str, ...]:
    """Jobs on a node under preemption notice to run elsewhere now: those not expected to finish before it goes."""
    late = [j for j in jobs if expected_runtime(state, j, options, j.running_for) - j.running_for > time_left]
    return tuple(j.id or j.name for j in late)


@dataclass(frozen=True)
class _Share:
    """The part of one node a job takes per resource: in whole slots (what sizes the type), and physically."""

    slotted: tuple[float, ...]
    physical: tuple[float, ...]


def share(choice: NodeChoice, job: JobDemand) -> _Share:
    """A job's part of a node of the type, per resource (cores, memory, disk, accelerators)."""
    have = (choice.cores, choice.memory, choice.disk, choice.accelerators)
    need = (job.cores, job.memory, job.disk, job.accelerators)
    physical = [n / h if n > 0 and h > 0 else 0.0 for n, h in zip(need, have)]
    slotted = list(physical)
    slotted[max(range(4), key=lambda d: physical[d])] = 1 / slots(choice, job)  # no fragments: a whole slot
    return _Share(tuple(slotted), tuple(physical))


@dataclass
class _Load:
    """Work assigned to one node type, per resource, in node-seconds and in nodes at once."""

    slot_seconds: list[float] = field(default_factory=lambda: [0.0] * 4)
    slot_nodes: list[float] = field(default_factory=lambda: [0.0] * 4)
    busy_seconds: list[float] = field(default_factory=lambda: [0.0] * 4)  # physical, riders included
    busy_nodes: list[float] = field(default_factory=lambda: [0.0] * 4)

    def add(self, runtime: float, part: _Share, ride: bool = False) -> None:
        """Add a job; a rider fills room on nodes wanted anyway, so it does not size the type."""
        for d in range(4):
            if not ride:
                self.slot_seconds[d] += part.slotted[d] * runtime
                self.slot_nodes[d] += part.slotted[d]
            self.busy_seconds[d] += part.physical[d] * runtime
            self.busy_nodes[d] += part.physical[d]

    def nodes(self, target_time: float, extra: _Share | None = None, runtime: float = 0.0) -> int:
        """Nodes to finish the work (and ``extra``) within the target time, never more than can run at once."""
        more = extra.slotted if extra else (0.0,) * 4
        seconds = max(max(s + m * runtime for s, m in zip(self.slot_seconds, more)), max(self.busy_seconds))
        at_once = max(max(n + m for n, m in zip(self.slot_nodes, more)), max(self.busy_nodes))
        return max(0, min(math.ceil(seconds / target_time - 1e-9), math.ceil(at_once - 1e-9)))

    def has_room(self, nodes: int, target_time: float, runtime: float, part: _Share) -> bool:
        """Whether ``nodes`` nodes still have the resources for the job within the target time."""
        by_time = all(b + p * runtime <= nodes * target_time for b, p in zip(self.busy_seconds, part.physical))
        return by_time or all(b + p <= nodes for b, p in zip(self.busy_nodes, part.physical))


def _assign(
    queued: Iterable[tuple[JobDemand, float]],
    choices: Sequence[NodeChoice],
    loads: dict[str, _Load],
    target_time: float,
) -> list[JobDemand]:
    """Put each queued job on the cheapest node type per job slot with room under its maximum; the unfit ones."""
    by_shape: dict[tuple[int, float, int, int, bool], list[tuple[JobDemand, float]]] = defaultdict(list)
    for job, runtime in queued:
        by_shape[(job.memory, job.cores, job.disk, job.accelerators, job.preemptible)].append((job, runtime))
    unfit: list[JobDemand] = []
    for shape in sorted(by_shape, reverse=True):  # largest first, as first-fit-decreasing does
        jobs = sorted(by_shape[shape], key=lambda p: -p[1])
        example = jobs[0][0]
        fitting = _fitting(choices, example)
        ranked = _ranked(fitting)
        shares = {r[3].key: share(r[3], example) for r in fitting}
        if not ranked:
            unfit.extend(job for job, _ in jobs)
            continue
        for _job, runtime in jobs:
            free = _free_ride(fitting, loads, runtime, target_time, shares)
            if free is not None:  # room on nodes wanted anyway (say, beside a large-memory job): it costs nothing
                loads[free.key].add(runtime, shares[free.key], ride=True)
                continue
            for _, _, _, choice, _ in ranked:
                if loads[choice.key].nodes(target_time, shares[choice.key], runtime) <= choice.max_count:
                    loads[choice.key].add(runtime, shares[choice.key])
                    break
            else:
                loads[ranked[0][3].key].add(runtime, shares[ranked[0][3].key])  # it waits for the cheapest
    return unfit


_Fit = tuple[float, int, int, NodeChoice, int]  # price per slot, -slots, menu position, the type, slots


def _fitting(choices: Sequence[NodeChoice], job: JobDemand) -> list[_Fit]:
    """The types a job fits, cheapest per job slot first (then the roomiest, then menu order)."""
    return sorted((c.hourly / n, -n, i, c, n) for i, c in enumerate(choices) if (n := slots(c, job)) > 0)


def _ranked(fitting: list[_Fit]) -> list[_Fit]:
    """The types a job is sized onto: spot ones only if any fits (on-demand stands in by --preemptibleCompensation)."""
    spot = [f for f in fitting if f[3].preemptible]
    return spot or fitting


def _free_ride(
    fitting: Sequence[_Fit],
    loads: dict[str, _Load],
    runtime: float,
    target: float,
    shares: dict[str, _Share],
) -> NodeChoice | None:
    """The cheapest type whose wanted nodes have room left for the job (say, beside a large-memory job)."""
    for option in fitting:
        choice = option[3]
        wanted = min(loads[choice.key].nodes(target), choice.max_count)
        if wanted > 0 and loads[choice.key].has_room(wanted, target, runtime, shares[choice.key]):
            return choice
    return None


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _smooth(previous: float, raw: int, beta: float) -> float:
    """Scale up at once; scale down smoothed by --betaInertia (Toil smooths both ways)."""
    return float(raw) if raw >= previous else beta * previous + (1 - beta) * raw


def decide(
    now: float,
    jobs: Sequence[JobDemand],
    nodes: Sequence[NodeStatus],
    choices: Sequence[NodeChoice],
    options: PolicyOptions,
    state: ScalerState,
    completions: Sequence[Completion] = (),
) -> Decision:
    """The decision for this moment; pure: the same arguments always give the same decision."""
    for done in completions:
        state = state.learn(done.name, done.wall_time)
    state = state.seen_running((job.name, job.running_for) for job in jobs if job.node is not None)
    fitted = [usable(c, options.assume_zero_overhead) for c in choices]
    node_type = {n.name: n.type_key for n in nodes if n.state != NOTICE}
    loads, unfit_jobs = _plan(jobs, fitted, node_type, state, options, options.target_time)
    paced_by = _bottleneck(loads, fitted, options.target_time) if options.stretch_to_bottleneck else {}
    horizon = max(paced_by.values(), default=0.0)
    stretched = horizon > options.target_time
    if stretched:  # a type at its maximum needs longer: the others need not finish sooner
        loads, unfit_jobs = _plan(jobs, fitted, node_type, state, options, horizon)
    horizon = max(horizon, options.target_time)
    unfit = tuple(Unfit(j.id or j.name, unfit_message(j, fitted)) for j in unfit_jobs)

    live: dict[str, list[NodeStatus]] = defaultdict(list)
    for n in nodes:
        live[n.type_key].append(n)
    deficit = _spot_deficit(state, fitted, live)
    estimates: dict[str, float] = {}
    wanted: dict[str, int] = {}
    for c in fitted:
        estimates[c.key] = _smooth(state.estimates.get(c.key, 0.0), loads[c.key].nodes(horizon), options.beta_inertia)
        want = _round_half_up(estimates[c.key])
        if not c.preemptible:
            want += _round_half_up(deficit.get(c.instance_type, 0) * options.preemptible_compensation)
        wanted[c.key] = max(c.min_count, min(c.max_count, want))
    if stretched:  # the slowest type sets the pace: the others keep the queue moving to it, no faster
        paced = _keep_pace(jobs, fitted, set(paced_by), state, options, live)
        for c in fitted:
            wanted[c.key] = min(c.max_count, max(wanted[c.key], paced.get(c.key, 0)))
    launch, undrain, retire = _reconcile(fitted, live, wanted)
    drain = _surplus_busy(fitted, live, wanted, set(retire)) if stretched else ()
    new_state = replace(state, estimates=estimates, spot_deficit=deficit, last_decision=now)
    return Decision(new_state, launch, undrain, retire, wanted, unfit, drain)


def _plan(
    jobs: Sequence[JobDemand],
    fitted: Sequence[NodeChoice],
    node_type: dict[str, str],
    state: ScalerState,
    options: PolicyOptions,
    target: float,
) -> tuple[dict[str, _Load], list[JobDemand]]:
    """Each type's load (running jobs where they run, queued ones placed by cost) and the jobs no type fits."""
    by_key = {c.key: c for c in fitted}
    loads: dict[str, _Load] = {c.key: _Load() for c in fitted}
    queued: list[tuple[JobDemand, float]] = []
    longest = state.ran_at_least
    for job in jobs:
        runtime = expected_runtime(state, job, options, longest.get(job.name, 0.0))
        key = node_type.get(job.node) if job.node is not None else None
        if key is not None and key in by_key and slots(by_key[key], job) > 0:
            loads[key].add(max(runtime - job.running_for, options.min_remaining), share(by_key[key], job))
        elif job.node is None or key is None:  # queued, or on a node being preempted: it runs again elsewhere
            queued.append((job, runtime))
    return loads, _assign(queued, fitted, loads, target)


def _bottleneck(loads: dict[str, _Load], fitted: Sequence[NodeChoice], target: float) -> dict[str, float]:
    """The slowest of the types that need more than their maximum for the target time, and how long it needs.

    Empty if no type is held at its maximum; several entries only when they tie.
    """
    needs = {
        c.key: max(loads[c.key].slot_seconds) / c.max_count
        for c in fitted
        if 0 < c.max_count < loads[c.key].nodes(target)
    }
    longest = max(needs.values(), default=0.0)
    return {key: seconds for key, seconds in needs.items() if seconds >= longest}


def _spot_deficit(
    state: ScalerState, choices: Sequence[NodeChoice], live: dict[str, list[NodeStatus]]
) -> dict[str, int]:
    """Spot nodes wanted last time but missing now (unfulfilled or preempted), by instance type."""
    deficit: dict[str, int] = {}
    for c in choices:
        if c.preemptible:
            have = sum(1 for n in live.get(c.key, ()) if n.state != NOTICE)
            wanted = min(c.max_count, _round_half_up(state.estimates.get(c.key, 0.0)))
            deficit[c.instance_type] = deficit.get(c.instance_type, 0) + max(0, wanted - have)
    return deficit


def _reconcile(
    choices: Sequence[NodeChoice], live: dict[str, list[NodeStatus]], wanted: dict[str, int]
) -> tuple[tuple[Launch, ...], tuple[str, ...], tuple[str, ...]]:
    """Launches, nodes to take back from draining, and idle nodes to retire, to move each type to its wanted count."""
    launch: list[Launch] = []
    undrain: list[str] = []
    for c in choices:
        mine = live.get(c.key, [])
        active = [n for n in mine if n.state in (BOOTING, UP)]
        draining = [n for n in mine if n.state == DRAINING]
        want = wanted[c.key]
        if want > len(active):
            back = sorted(draining, key=lambda n: not n.busy)[: want - len(active)]
            undrain.extend(n.name for n in back)
            count = min(want - len(active) - len(back), c.max_count - len(active) - len(draining))
            if count > 0:
                launch.append(Launch(c.key, count))
    taken_back = set(undrain)
    rest = {key: [n for n in nodes if n.name not in taken_back] for key, nodes in live.items()}
    return tuple(launch), tuple(undrain), surplus_idle(choices, rest, wanted)


def surplus_idle(
    choices: Sequence[NodeChoice], live: dict[str, list[NodeStatus]], wanted: dict[str, int]
) -> tuple[str, ...]:
    """Idle nodes to retire: beyond each type's wanted count, and every idle node draining or under notice.

    A busy node is not drained for being surplus here: under per-second billing a busy node costs only the work
    it does, and draining it stretches the run (the queue then always aims to drain one target time from now);
    only a type held at its maximum that sets the pace makes busy nodes of the others surplus (``_surplus_busy``).
    A booting node is kept: its boot is paid for, and it may well be wanted again by the time it is up.
    The driver applies this between decisions too, so a surplus node is removed as soon as it goes idle.
    """
    retire: list[str] = []
    for c in choices:
        mine = live.get(c.key, [])
        active = [n for n in mine if n.state in (BOOTING, UP)]
        surplus = len(active) - wanted.get(c.key, len(active))
        if surplus > 0:
            idle = [n for n in active if n.state == UP and not n.busy and not n.static]
            retire.extend(n.name for n in idle[:surplus])
        retire.extend(n.name for n in mine if n.state in (DRAINING, NOTICE) and not n.busy and not n.static)
    return tuple(retire)


def _surplus_busy(
    choices: Sequence[NodeChoice], live: dict[str, list[NodeStatus]], wanted: dict[str, int], retiring: set[str]
) -> tuple[str, ...]:
    """Busy nodes beyond their type's wanted count, to drain while a type held at its maximum sets the pace.

    The work they would take next can wait for the slowest type (and ride on its nodes, paid for anyway);
    drained, they finish what they run, take nothing new, and go once idle; nothing running is killed.
    """
    drain: list[str] = []
    for c in choices:
        active = [n for n in live.get(c.key, []) if n.state in (BOOTING, UP)]
        surplus = len(active) - wanted[c.key] - sum(1 for n in active if n.name in retiring)
        busy = [n for n in active if n.state == UP and n.busy and not n.static and n.name not in retiring]
        drain.extend(n.name for n in busy[::-1][: max(0, surplus)])  # the newest first
    return tuple(drain)


def _keep_pace(
    jobs: Sequence[JobDemand],
    fitted: Sequence[NodeChoice],
    paced_by: set[str],
    state: ScalerState,
    options: PolicyOptions,
    live: dict[str, list[NodeStatus]],
) -> dict[str, int]:
    """Nodes of the other types that keep the queue, taken in order, moving fast enough for the slowest types.

    A job only a type held at its maximum (``paced_by``) can run waits behind the jobs queued before it; it
    should reach the front by the time a node of that type frees, or the type that sets the run's length idles.
    Each job ahead counts on the type it would be sized onto (``_ranked``).
    """
    others = [c for c in fitted if c.key not in paced_by]
    longest = state.ran_at_least
    on_node: dict[str, list[JobDemand]] = defaultdict(list)
    for j in jobs:
        if j.node is not None:
            on_node[j.node].append(j)
    frees: list[float] = []  # when each node of a pacing type is next free, from now
    for key in paced_by:
        for node in live.get(key, ()):
            if node.busy and not on_node[node.name]:
                return {}  # the backend does not say what runs where: no pace to keep
            ends = [
                expected_runtime(state, j, options, longest.get(j.name, 0.0)) - j.running_for
                for j in on_node[node.name]
            ]
            frees.append(max([0.0, *ends]))
    heapq.heapify(frees)
    ahead: dict[str, float] = defaultdict(float)  # node-seconds queued so far, per type
    need: dict[str, int] = {}
    for job in (j for j in jobs if j.node is None):
        runtime = expected_runtime(state, job, options, longest.get(job.name, 0.0))
        fits = _ranked(_fitting(others, job))
        if fits:
            _, _, _, choice, n = fits[0]
            ahead[choice.key] += runtime / n
            continue
        free = max(heapq.heappop(frees) if frees else 0.0, options.min_remaining)
        heapq.heappush(frees, free + runtime)
        for key, seconds in ahead.items():
            need[key] = max(need.get(key, 0), math.ceil(seconds / free - 1e-9))
    return need
