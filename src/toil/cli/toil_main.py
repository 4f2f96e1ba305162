"""The ``toil`` command: utilities that read and steer a workflow's job store."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from toil.exceptions import ToilUserError
from toil.runtime.cliparse import ToilArgumentParser
from toil.runtime.errors import install_excepthook


def _clean(argv: list[str]) -> int:
    from toil.runtime.jobstores import normalize_locator, open_job_store
    parser = ToilArgumentParser(prog="toil clean", description="Delete a workflow's job store.")
    parser.add_argument("jobStore", help="The job store to delete: file:PATH or a bare PATH.")
    parser.add_argument("--logLevel", default="INFO", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    js = open_job_store(normalize_locator(args.jobStore))
    if not js.exists():
        raise ToilUserError(f"the job store {js.locator} does not exist: nothing to clean")
    js.destroy()
    print(f"Deleted the job store {js.locator}")
    return 0


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "clean": (_clean, "Delete a workflow's job store."),
}


def main(argv: list[str] | None = None) -> int:
    install_excepthook()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: toil COMMAND [options]\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<14}{text}")
        return 0 if argv else 2
    if argv[0] == "--version":
        from toil.version import version
        print(version)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        sys.stderr.write(f"toil: error: unknown command {name!r}; commands: {', '.join(COMMANDS)}\n")
        return 2
    return COMMANDS[name][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
