"""The ``toil`` command: utilities that read and steer a workflow's job store."""

from __future__ import annotations

import sys
from typing import Callable

from toil.exceptions import ToilUserError
from toil.options.parser import ToilArgumentParser
from toil.runtime.errors import install_excepthook


def _clean(argv: list[str]) -> int:
    from toil.cli.utility import open_existing_job_store, utility_parser

    args = utility_parser("toil clean", "Delete a workflow's job store.", log_level="INFO").parse_args(argv)
    js = open_existing_job_store(args.jobStore, ": nothing to clean")
    js.destroy()
    print(f"Deleted the job store {js.locator}")
    return 0


def _config(argv: list[str]) -> int:
    from toil.options.common import write_config

    parser = ToilArgumentParser(
        prog="toil config",
        description="Write a commented YAML file of every workflow "
        "option with its default, to edit and pass back with --config.",
    )
    parser.add_argument("output", help="The file to write.")
    args = parser.parse_args(argv)
    try:
        write_config(args.output)
    except OSError as e:
        raise ToilUserError(f"cannot write {args.output}: {e.strerror}") from None
    print(f"Wrote the default options to {args.output}; use it with --config {args.output}")
    return 0


def _lazy(module: str, function: str = "main") -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), function)(argv))

    return run


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "status": (_lazy("toil.cli.toil_status"), "Report where a workflow stands: jobs queued, running, failed."),
    "stats": (_lazy("toil.cli.toil_stats"), "Report the time and memory of the jobs of a run with --stats."),
    "clean": (_clean, "Delete a workflow's job store."),
    "kill": (_lazy("toil.cli.toil_kill"), "Stop a running workflow and every job it issued."),
    "debug-job": (_lazy("toil.cli.toil_debug_job"), "Run one job of a workflow again, in the foreground."),
    "config": (_config, "Write a commented YAML file of all options, for --config."),
    "launch-cluster": (_lazy("toil.provision.cli", "launch_main"), "Launch a cloud cluster (leader, workers)."),
    "destroy-cluster": (_lazy("toil.provision.cli", "destroy_main"), "Remove a cloud cluster and all it made."),
    "ssh-cluster": (_lazy("toil.provision.cli", "ssh_main"), "A shell or a command in the cluster leader's appliance."),
    "rsync-cluster": (_lazy("toil.provision.cli", "rsync_main"), "Copy files to or from the cluster leader (rsync)."),
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
