"""Python job graphs with bad arguments: a generated workflow script, run as ``python script.py JOBSTORE``.

Each case is a small script in Toil's style (``Job.Runner.getDefaultArgumentParser()``, ``Toil(options)``,
``toil.start(...)``) with a few generated statements: requirements of the wrong type or size, successors
that are not jobs or make cycles, promises read too early, arguments that cannot be pickled, options set
to junk after parsing, misuse of the ``Toil`` object. A user's mistake must end in one line.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.fuzz.core import Case
from tests.fuzz.mutate import draw_cases

TEMPLATE = """\
import threading
from toil.common import Toil
from toil.job import Job, PromisedRequirement


def f(x=None, *args, **kwargs):
    return x


def g(job, x=None, *args, **kwargs):
    return x


class Custom(Job):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def run(self, fileStore):
        return 3


class Svc(Job.Service):
    def start(self, job):
        return "started"

    def stop(self, job):
        pass


def deep(n):
    x = []
    for _ in range(n):
        x = [x]
    return x


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    options = parser.parse_args()
    root = Job.wrapJobFn(g, 1)
    a = root.addChildFn(f, 2)
{graph}
    with Toil(options) as toil:
{inside}
        print("RESULT", toil.start(root))
"""

# (python source, certainly not a valid requirement)
VALUES = [
    ("'abc'", True),
    ("'2G'", False),
    ("'-5'", False),
    ("-1", False),
    ("0", False),
    ("1.5", False),
    ("10**30", False),
    ("float('nan')", True),
    ("float('inf')", False),
    ("None", False),
    ("True", False),
    ("[1]", True),
    ("{'a': 1}", True),
    ("object()", True),
    ("'1.5Ti'", False),
    ("'1e400'", False),
    ("''", False),
    ("b'1G'", False),
    ("(1,)", True),
    ("2**63", False),
    ("-0.0", False),
    ("'\\U0001F642'", True),
    ("f", True),
    ("Job", True),
    ("lambda: 1", True),
    ("root.rv()", False),
    ("a.rv()", False),
    ("'gpu'", False),
    ("{'kind': 'gpu', 'count': -1}", False),
    ("[{'count': 'x'}]", False),
    ("'cuda:2'", False),
    ("PromisedRequirement(a.rv())", False),
    ("PromisedRequirement(lambda x: x, a.rv())", False),
    ("deep(100000)", True),
    ("'1 GiB'", False),
    ("'5 xb'", True),
    ("12.5e3", False),
]
REQUIREMENTS = [
    "memory",
    "cores",
    "disk",
    "accelerators",
    "preemptible",
    "preemptable",
    "checkpoint",
    "unitName",
    "displayName",
    "local",
    "files",
]
OPTION_ATTRS = [
    "maxCores",
    "maxMemory",
    "maxDisk",
    "defaultMemory",
    "defaultCores",
    "defaultDisk",
    "retryCount",
    "clean",
    "logLevel",
    "batchSystem",
    "workDir",
    "jobStore",
    "restart",
    "stats",
    "maxJobsPerWorker",
    "defaultPreemptible",
    "defaultAccelerators",
    "logFile",
    "writeLogs",
    "disableChaining",
    "statePollingWait",
    "badWorker",
    "cleanWorkDir",
    "metrics",
    "realTimeLogging",
    "nonexistentOption",
]


@st.composite
def value(draw: st.DrawFn) -> tuple[str, bool]:
    return draw(st.sampled_from(VALUES))


@st.composite
def graph_statement(draw: st.DrawFn) -> tuple[str, bool]:
    """One statement that builds on 'root' and 'a'; True when it is certainly a mistake."""
    v, bad = draw(value())
    req = draw(st.sampled_from(REQUIREMENTS))
    sreq = draw(st.sampled_from(REQUIREMENTS[:5] + ["unitName"]))  # what Job.Service takes
    choices = [
        (f"root.addChildFn(f, 3, {req}={v})", bad and req in ("memory", "cores", "disk")),
        (f"root.addFollowOnJobFn(g, {req}={v})", bad and req in ("memory", "cores", "disk")),
        (f"root.addChild(Custom({req}={v}))", bad and req in ("memory", "cores", "disk")),
        (f"root.addChild({v})", True),
        (f"root.addFollowOn({v})", True),
        ("root.addChild(root)", True),
        ("a.addChild(root)", True),
        ("a.addFollowOn(a)", True),
        ("b = Job.wrapFn(f)\n    a.addChild(b)\n    b.addChild(a)", True),
        ("root.addChildFn(f, a.rv())", True),
        ("a.addChildFn(f, root.rv())", False),
        (f"root.addChildFn(f, a.rv({v}))", True),
        (f"a.addChildFn(f, a.rv({v}))", False),
        (f"Job.wrapFn({v})", False),
        (f"root.addChildFn({v})", False),
        (f"root.addChildJobFn({v}, 1)", False),
        (f"root.addService({v})", True),
        (f"root.addService(Svc({sreq}={v}))", bad and sreq in ("memory", "cores", "disk")),
        ("root.addChildFn(f, threading.Lock())", True),
        ("root.addChildFn(lambda: 1)", False),
        (f"root.addChildFn(f, x={v})", v == "deep(100000)"),
        (f"root.addFollowOnFn(f, memory=PromisedRequirement({v}))", False),
        (f"root.addChildFn(f, memory=PromisedRequirement(lambda x: x, {v}))", False),
        (f"root.encapsulate({v})", False),
        (f"a.rv({v})", False),
        (f"root.addChild(Job.wrapJobFn(g, cores={v}, memory={v}, disk={v}))", bad),
        (f"options.{draw(st.sampled_from(OPTION_ATTRS))} = {v}", False),
    ]
    return draw(st.sampled_from(choices))


@st.composite
def inside_statement(draw: st.DrawFn) -> tuple[str, bool]:
    v, _ = draw(value())
    return draw(
        st.sampled_from(
            [
                (f"toil.start({v})", True),
                ("toil.restart()", True),
                ("toil.start(a)", True),
                (f"toil.import_file({v})", False),
                (f"toil.importFile({v})", False),
                (f"toil.export_file({v}, 'out.txt')", False),
                ("toil.import_file('/nonexistent')", True),
                ("toil.import_file('file:///dev/null')", False),
                ("toil.import_file('nope://x')", True),
                ("toil.export_file(toil.import_file('script.py'), '/nonexistent/dir/x')", True),
                (f"toil.export_file(toil.import_file('script.py'), {v})", False),
                ("Toil.getJobStore('aws:garbage')", True),
                (f"Toil.resumeJobStore({v})", True),
                ("pass", False),
            ]
        )
    )


@st.composite
def python_case(draw: st.DrawFn) -> Case:
    graph = draw(st.lists(graph_statement(), max_size=3))
    inside = draw(st.lists(inside_statement(), max_size=2))
    outer = draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                "Toil(None)",
                "Toil({})",
                "Toil('js')",
                "Job.Runner.startToil(root, None)",
                "Toil(options).start(root)",
            ]
        )
    )
    lines = [s for s, _ in graph] + ([outer] if outer else [])
    script = TEMPLATE.format(
        graph="\n".join("    " + s for s in lines) or "    pass",
        inside="\n".join("        " + s for s, _ in inside) or "        pass",
    )
    extra = draw(
        st.sampled_from(
            [
                [],
                [],
                ["--restart"],
                ["--retryCount", "0"],
                ["--maxCores", "1"],
                ["--clean", "never"],
                ["--disableChaining"],
                ["--stats"],
            ]
        )
    )
    bad = any(b for _, b in graph) or any(b for _, b in inside) or bool(outer) or extra == ["--restart"]
    note = " | ".join(lines + [s for s, _ in inside]) or "a valid graph"
    return Case(
        "python_graph",
        "python",
        ["script.py", "js", "--logLevel", "WARNING", *extra],
        {"script.py": script.encode()},
        expect="fail" if bad else "any",
        note=note,
    )


def generate(count: int, seed: int) -> list[Case]:
    return draw_cases(python_case(), count, seed, Case.key)


KINDS = {"python_graph": generate}
