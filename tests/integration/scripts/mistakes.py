"""Workflows with a user mistake chosen by --mistake, for testing one-line errors."""

from toil.common import Toil
from toil.job import Job


def f(x=None):
    return x


def failing(job):
    raise ValueError("the input has no header line")


def dynamic_cycle(job):
    a, b = Job.wrapFn(f), Job.wrapFn(f)
    job.addChild(a)
    a.addChild(b)
    b.addChild(a)


def build(mistake):
    root = Job.wrapFn(f)
    if mistake == "cycle":
        a, b = root.addChildFn(f), Job.wrapFn(f)
        a.addChild(b)
        b.addChild(a)
    elif mistake == "promise":
        a = root.addChildFn(f, 1)
        root.addChildFn(f, a.rv())
    elif mistake == "pickle":
        import threading

        root.addChildFn(f, threading.Lock())
    elif mistake == "toobig":
        root.addChildFn(f, 1, memory="100Ti")
    elif mistake == "fails":
        root.addChildJobFn(failing)
    elif mistake == "dynamic_cycle":
        root.addChildJobFn(dynamic_cycle)
    return root


if __name__ == "__main__":
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--mistake", default="none")
    options = parser.parse_args()
    with Toil(options) as toil:
        if options.restart:
            print("RESULT", toil.restart())
        else:
            print("RESULT", toil.start(build(options.mistake)))
