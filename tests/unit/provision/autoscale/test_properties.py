"""Properties of the policy for any cluster: never removes a busy or static node, never exceeds max, meets min."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from toil.provision.autoscale.policy import (
    NODE_STATES,
    NOTICE,
    JobDemand,
    NodeChoice,
    NodeStatus,
    PolicyOptions,
    decide,
)
from toil.provision.autoscale.state import ScalerState

GIB = 1024**3
TYPES = [
    NodeChoice("s", "c5.4xlarge", 16, 32 * GIB, 50 * GIB, 0.24, preemptible=True),
    NodeChoice("o", "c5.4xlarge", 16, 32 * GIB, 50 * GIB, 0.68),
    NodeChoice("r", "r5.4xlarge", 16, 128 * GIB, 50 * GIB, 1.0),
]

limits = st.tuples(st.integers(0, 3), st.integers(0, 6)).map(lambda p: (min(p), max(p)))
nodes = st.lists(
    st.builds(
        NodeStatus,
        name=st.just(""),
        type_key=st.sampled_from([t.key for t in TYPES]),
        state=st.sampled_from(NODE_STATES),
        busy=st.booleans(),
        static=st.booleans(),
    ),
    max_size=12,
).map(lambda ns: [NodeStatus(f"n{i}", n.type_key, n.state, n.busy, n.static) for i, n in enumerate(ns)])
jobs = st.lists(
    st.builds(
        JobDemand,
        name=st.sampled_from(["a", "b", "c"]),
        cores=st.sampled_from([0, 1, 4, 16, 40]),
        memory=st.sampled_from([0, GIB, 30 * GIB, 100 * GIB]),
        disk=st.sampled_from([0, GIB]),
        preemptible=st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    jobs,
    nodes,
    st.lists(limits, min_size=3, max_size=3),
    st.floats(0.0, 0.9),
    st.floats(0.0, 1.0),
    st.floats(1.0, 3600.0),
)
def test_policy_invariants(
    queue: list[JobDemand],
    cluster: list[NodeStatus],
    bounds: list[tuple[int, int]],
    beta: float,
    compensation: float,
    runtime: float,
) -> None:
    choices = [NodeChoice(**{**t.__dict__, "min_count": lo, "max_count": hi}) for t, (lo, hi) in zip(TYPES, bounds)]
    options = PolicyOptions(beta_inertia=beta, preemptible_compensation=compensation)
    decision = decide(0.0, queue, cluster, choices, options, ScalerState().learn("a", runtime))
    by_name = {n.name: n for n in cluster}
    for name in decision.retire:
        assert not by_name[name].busy and not by_name[name].static
    for name in decision.drain:  # drained to go once idle: never a static one, never one also retired now
        assert by_name[name].busy and not by_name[name].static and name not in decision.retire
    for c in choices:
        mine = [n for n in cluster if n.type_key == c.key and n.state != NOTICE]
        retired = sum(1 for n in mine if n.name in decision.retire + decision.drain)
        launched = sum(launch.count for launch in decision.launch if launch.key == c.key)
        assert c.min_count <= decision.wanted[c.key] <= c.max_count
        after = len(mine) - retired + launched
        assert launched == 0 or after <= c.max_count  # launching never passes the maximum
        assert after >= min(c.min_count, len(mine) + launched)  # retiring never goes below the minimum
        if len(mine) < c.min_count:
            assert len(mine) + launched >= c.min_count  # below the minimum: launch up to it
