"""``toil-cwl-runner`` (also ``cwltoil``): cwltool's command line, run on this project's runtime.

cwltool parses the command line (its flags, the document, the job order and
tool inputs given as flags), loads and validates the document and prints the
output object; the executor in toil.compiler.cwl.executor compiles and runs
it. Toil's workflow options (``--jobStore``, ``--batchSystem``, ...) are added
to cwltool's parser.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

PROG = "toil-cwl-runner"


def _parser() -> Any:
    from cwltool.argparser import arg_parser

    from toil.cli.cwl_log import one_line_parser_errors
    from toil.options.common import add_options

    parser = arg_parser()
    parser.prog = PROG
    parser.allow_abbrev = False  # '--log' must reach a tool input named log, not abbreviate --logLevel
    parser.description = (
        "Run a CWL tool or workflow: every step is a job of the workflow runtime (local machine "
        "by default, or a cluster's batch system)."
    )
    add_options(parser, jobstore_as_flag=True)
    one_line_parser_errors(parser, PROG)
    # The CWL specification allows any character in a file name but '/'; cwltool's strict check refuses
    # names like 'item #1.txt' unless --relax-path-checks. Relaxed is the default here.
    parser.add_argument(
        "--strict-path-checks",
        dest="relax_path_checks",
        action="store_false",
        help="Refuse file names with characters other than letters, digits and ._+-~ (cwltool's default)",
    )
    parser.set_defaults(relax_path_checks=True)
    parser.add_argument(
        "--reference-inputs",
        dest="reference_inputs",
        action="store_true",
        default=False,
        help="Do not import the input files into the job store: pass them by their paths (the batch system's "
        "workers must read them there). By default they are imported when the workers cannot read this "
        "machine's files (--batchSystem kubernetes)",
    )
    parser.add_argument(
        "--destBucket",
        default=None,
        metavar="URL",
        help="Also export the output files to this URL (s3://BUCKET/PREFIX, gs://..., file://...), as Toil does; "
        "the printed output object then names them there",
    )
    return parser


def _version() -> str:
    import importlib.metadata

    from toil.version import version

    return f"{PROG} {version} (cwltool {importlib.metadata.version('cwltool')})"


def main(argv: list[str] | None = None) -> int:
    from toil.runtime.errors import install_excepthook

    install_excepthook()
    try:
        import cwltool.main
    except ImportError:
        sys.stderr.write(f"{PROG}: error: cwltool is not installed: pip install 'toil[cwl]'\n")
        return 1
    from schema_salad.exceptions import ValidationException

    from toil.cli.cwl_inputs import patch_job_order_loading
    from toil.cli.cwl_log import OneLineErrors, one_line, patch_tool_input_parser
    from toil.exceptions import ToilUserError

    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "jobStore", None):
        args.jobStore = None
    from toil.runtime.driver import check_job_store_reachable

    check_job_store_reachable(args)  # before cwltool's loop, which would print a user error as a crash
    logging.getLogger("salad").setLevel(logging.WARNING)
    logging.getLogger("cwltool").propagate = False  # cwltool has its own handler; the runtime's would repeat it
    from toil.compiler.cwl.schemas import setup_schemas

    # cwltool's errors (multi-line validation reports) as one line each
    named = [getattr(args, "workflow", None), *(getattr(args, "job_order", None) or [])[:1]]
    log = OneLineErrors(PROG, " or ".join(str(x) for x in named if x and not str(x).startswith("-")))
    patch_tool_input_parser(log)
    patch_job_order_loading()
    executor = _executor(args, log.inputs)
    from toil.compiler.cwl.loading import leader_loading_context

    try:
        code = cwltool.main.main(
            args=args,
            executor=executor,
            loadingContext=leader_loading_context(args),  # notes the sources, for workers elsewhere
            versionfunc=_version,
            logger_handler=log,
            custom_schema_callback=lambda: setup_schemas(args),
        )
    except ValidationException as e:  # raised where cwltool does not catch it (a document that is not found)
        raise ToilUserError(one_line(str(e), log.inputs)) from None
    if executor.user_error is not None:
        raise executor.user_error  # one line, with its own exit code (toil.runtime.errors)
    if code != 0 and not log.ended_with_error:
        sys.stderr.write(f"{PROG}: error: {log.last_error or f'the run failed (exit code {code})'}\n")
    return int(code)


def _executor(args: Any, inputs: str) -> Any:
    """The executor, keeping a user error (ToilUserError) for main to report: cwltool would call it a crash."""
    from toil.cli.cwl_log import upstream_crash
    from toil.compiler.cwl.executor import ToilCWLExecutor
    from toil.exceptions import ToilUserError

    class Executor(ToilCWLExecutor):
        user_error: ToilUserError | None = None

        def execute(self, *a: Any, **kw: Any) -> tuple[Any, str]:
            try:
                return super().execute(*a, **kw)
            except ToilUserError as e:
                self.user_error = e
                return None, "permanentFail"
            except Exception as e:
                converted = upstream_crash(e, inputs)
                if converted is None:
                    raise
                raise converted from e

    return Executor(args)


if __name__ == "__main__":
    sys.exit(main())
