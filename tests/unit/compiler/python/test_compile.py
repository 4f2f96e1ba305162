"""Compiling Toil job graphs into IR nodes: structure, requirements, and the user-mistake checks."""

from __future__ import annotations

import pickle

import pytest

from toil.compiler.ir import KIND_NOOP, KIND_PYTHON, KIND_SERVICE, NodeSpec
from toil.compiler.python.compile import JobPicklingError, compile_graph
from toil.job import (
    ConflictingPredecessorError,
    Job,
    JobException,
    JobGraphDeadlockException,
    JobPromiseConstraintError,
    PromisedRequirement,
    parse_accelerator,
)
from toil.runtime.config import Config

CFG = Config()


def f(x, memory="300M", cores=2):
    return x


def g(job, x):
    return x


def by_name(compiled):
    return {s.display: s for s in compiled.specs}


def test_root_graph_shape_and_order():
    root = Job.wrapFn(f, 1)
    a = root.addChildFn(f, 2)
    b = root.addFollowOnJobFn(g, 3)
    c = compile_graph(root, CFG)
    assert c.specs[0].id == root.jobStoreID
    s0 = c.specs[0]
    assert s0.children == [a.jobStoreID] and s0.followons == [b.jobStoreID]
    assert all(s.kind == KIND_PYTHON for s in c.specs)
    assert NodeSpec.from_json(s0.to_json()) == s0


def test_wrapfn_requirements_come_from_kwargs_then_function_defaults():
    j = Job.wrapFn(f, 1, memory="1G")
    assert j.memory == 10**9 and j.cores == 2  # explicit memory, default cores from f
    assert Job.wrapFn(f, 1).memory == 300 * 10**6
    j2 = Job.wrapJobFn(g, 1, disk="5Gi", preemptable=True, name="unit", accelerators=["cuda:1"])
    assert j2.disk == 5 * 2**30 and j2.preemptible is True and j2.unitName == "unit"
    assert j2.accelerators == [{"count": 1, "kind": "gpu", "api": "cuda", "brand": "nvidia"}]
    assert j2._kwargs == {}  # reserved names are not passed to the function


def test_unset_requirements_take_workflow_defaults():
    cfg = Config()
    cfg.defaultMemory, cfg.defaultCores, cfg.defaultPreemptible = 123, 0.5, True
    c = compile_graph(Job.wrapFn(len, "x"), cfg)
    r = c.specs[0].resources
    assert (r.memory, r.cores, r.preemptible) == (123, 0.5, True)


def test_plain_job_and_encapsulation_wrappers_are_noops():
    inner = Job.wrapFn(f, 1)
    wrapper = inner.encapsulate()
    after = wrapper.addChildFn(f, 2)
    root = Job()
    root.addChild(wrapper)
    specs = by_name(compile_graph(root, CFG))
    assert specs["Job"].kind == KIND_NOOP
    wrap_spec = next(s for s in specs.values() if s.id == wrapper.jobStoreID)
    assert wrap_spec.kind == KIND_NOOP and wrap_spec.children == [inner.jobStoreID]
    follow = next(s for s in specs.values() if s.id == wrap_spec.followons[0])
    assert follow.kind == KIND_NOOP and follow.children == [after.jobStoreID]


def test_a_cycle_is_refused_with_the_jobs_named():
    a, b = Job.wrapFn(f, 1), Job.wrapFn(f, 2)
    a.addChild(b)
    b.addChild(a)
    root = Job()
    root.addChild(a)
    with pytest.raises(JobGraphDeadlockException, match="cycle"):
        compile_graph(root, CFG)


def test_a_cycle_through_a_followon_is_refused():
    root, child, follow = Job.wrapFn(f, 0), Job.wrapFn(f, 1), Job.wrapFn(f, 2)
    root.addChild(child)
    root.addFollowOn(follow)
    follow.addChild(child)  # child would wait for follow, which waits for child's subtree
    with pytest.raises(JobGraphDeadlockException, match="cycle"):
        compile_graph(root, CFG)


def test_adding_the_same_child_twice_is_refused():
    root, child = Job(), Job()
    root.addChild(child)
    with pytest.raises(ConflictingPredecessorError):
        root.addChild(child)


def test_a_checkpoint_with_successors_is_refused():
    root = Job()
    cp = root.addChildJobFn(g, 1, checkpoint=True)
    cp.addChildFn(f, 2)
    with pytest.raises(JobGraphDeadlockException, match="checkpoint"):
        compile_graph(root, CFG)


def test_promise_to_a_successor_is_fine_and_marks_the_producer():
    root = Job.wrapFn(f, 1)
    child = root.addChildFn(f, root.rv())
    follow = root.addFollowOnFn(f, child.rv(0))
    specs = {s.id: s for s in compile_graph(root, CFG).specs}
    assert specs[root.jobStoreID].keep_return and specs[child.jobStoreID].keep_return
    assert not specs[follow.jobStoreID].keep_return


def test_promise_to_a_job_that_may_run_first_is_refused():
    root = Job()
    a = root.addChildFn(f, 1)
    root.addChildFn(f, a.rv())  # a sibling: may run before a
    with pytest.raises(JobPromiseConstraintError, match="may not"):
        compile_graph(root, CFG)


def test_promise_of_a_job_outside_the_graph_is_refused():
    stray = Job.wrapFn(f, 1)
    root = Job.wrapFn(f, stray.rv())
    with pytest.raises(JobPromiseConstraintError):
        compile_graph(root, CFG)


def test_unpicklable_argument_is_a_clear_error():
    import threading

    root = Job.wrapFn(f, threading.Lock())
    with pytest.raises(JobPicklingError, match="cannot pickle the job"):
        compile_graph(root, CFG)


def test_lambdas_pickle_by_value():
    root = Job.wrapFn(lambda: 7)
    c = compile_graph(root, CFG)
    job = pickle.loads(c.pack[c.specs[0].payload.offset : c.specs[0].payload.offset + c.specs[0].payload.length])
    assert job.run(None) == 7


def test_services_become_service_nodes():
    class Svc(Job.Service):
        def start(self, job):
            return "x"

        def stop(self, job):
            pass

    root = Job.wrapFn(f, 1)
    svc = Svc(memory="10M")
    value = root.addService(svc)
    root.addChildFn(f, value)
    specs = {s.id: s for s in compile_graph(root, CFG).specs}
    host = specs[root._services[0][0].jobStoreID]
    assert host.kind == KIND_SERVICE and host.resources.memory == 10**7
    assert specs[root.jobStoreID].services == [(host.id, None)]
    assert host.keep_return


def test_promised_requirement_wraps_in_an_encapsulated_job():
    root = Job.wrapFn(f, 2)
    child = root.addChildFn(f, 5, cores=PromisedRequirement(lambda x: x * 2, root.rv()))
    assert type(child).__name__ == "EncapsulatedJob"
    compile_graph(root, CFG)  # compiles cleanly


def test_bad_requirement_is_a_clear_error():
    with pytest.raises(JobException, match="memory"):
        Job(memory="lots")
    with pytest.raises(ValueError):
        parse_accelerator("a:b:c")


def test_a_payload_names_the_producers_its_promises_read_so_a_worker_fetches_them_at_once():
    from toil.compiler.python.promise import Prefetched, resolving_promises, split_reads

    root = Job.wrapFn(f, 1)
    a, b = root.addChildFn(f, 2), root.addChildFn(f, 3)
    total = root.addFollowOnFn(f, [a.rv(), b.rv(), a.rv()])
    compiled = compile_graph(root, CFG)
    spec = {s.id: s for s in compiled.specs}[total.jobStoreID]
    payload = compiled.pack[spec.payload.offset : spec.payload.offset + spec.payload.length]
    reads, data = split_reads(payload)
    assert reads == sorted([a.jobStoreID, b.jobStoreID])
    assert split_reads(data) == ([], data)  # a payload without promises has no header

    class Store:
        def __init__(self):
            self.asked = []

        def read_return(self, node_id):
            self.asked.append(node_id)
            return pickle.dumps(node_id)

    store = Store()
    prefetched = {a.jobStoreID: pickle.dumps("A"), b.jobStoreID: pickle.dumps("B")}
    with resolving_promises(Prefetched(store, prefetched)):
        job = pickle.loads(data)
    assert job._args[0] == ["A", "B", "A"] and store.asked == []  # no read past what was fetched ahead


def test_a_spec_names_what_it_reads_and_a_return_value_the_promises_it_holds():
    root = Job.wrapFn(f, 1)
    a = root.addChildFn(f, 2)
    total = root.addFollowOnFn(f, [a.rv()])
    compiled = compile_graph(root, CFG)
    specs = {s.id: s for s in compiled.specs}
    assert specs[total.jobStoreID].reads == [a.jobStoreID] and specs[a.jobStoreID].reads == []
    assert NodeSpec.from_json(specs[total.jobStoreID].to_json()).reads == [a.jobStoreID]

    class Running(Job):
        def run(self, fileStore):
            return None

    running = Running()
    running._node_id = "running-node"
    child = running.addChildFn(f, 3)
    out = compile_graph(running, CFG, running=running, return_value={"x": child.rv()}, keep_return=True)
    assert out.return_value is not None and out.return_refs == [child.jobStoreID]
