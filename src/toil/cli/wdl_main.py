"""toil-wdl-runner: run a WDL workflow or task on Toil's runtime.

    toil-wdl-runner workflow.wdl [inputs.json] [-o OUTDIR] [Toil options]

The document is parsed and type-checked by miniwdl before anything runs;
mistakes end in one line naming file:line:column. Outputs are copied to the
output directory and printed as JSON (Cromwell's form by default).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from toil.exceptions import ToilUserError
from toil.options.parser import ToilArgumentParser

log = logging.getLogger("toil.wdl")


def parser() -> ToilArgumentParser:
    from toil.options.common import add_options

    p = ToilArgumentParser(prog="toil-wdl-runner", description="Run a WDL workflow (draft-2, 1.0, 1.1) with Toil.")
    p.add_argument("wdl", help="the WDL document to run")
    p.add_argument("inputs_file", nargs="?", default=None, help="a JSON file of inputs (keys like wf.x)")
    p.add_argument(
        "-i", "--input", "--inputs", dest="input", default=None, help="inputs as a JSON file or an inline JSON object"
    )
    p.add_argument(
        "-o",
        "--outputDirectory",
        "--output-directory",
        dest="output_directory",
        default=None,
        help="where to copy the output files (default: a new wdl-out-* directory here)",
    )
    p.add_argument(
        "-m",
        "--outputFile",
        "--output-file",
        dest="output_file",
        default=None,
        help="also write the output JSON to this file",
    )
    p.add_argument(
        "--outputDialect",
        "--output-dialect",
        dest="output_dialect",
        default="cromwell",
        choices=["cromwell", "miniwdl"],
        help="the shape of the output JSON",
    )
    p.add_argument(
        "--container",
        default="auto",
        choices=["auto", "docker", "podman", "singularity", "none"],
        help="the engine that runs tasks naming a container image (runtime docker/container); auto: "
        "docker if its daemon answers, else podman, else singularity; none: run them on this host",
    )
    add_options(p, jobstore_as_flag=True)
    return p


def read_inputs(options: Any) -> tuple[dict[str, Any], list[str]]:
    """The inputs as a dict, and the directories relative input paths are looked up in."""
    search = [os.getcwd()]
    given = [x for x in (options.inputs_file, options.input) if x]
    if len(given) > 1:
        raise ToilUserError("give the inputs once: as a file argument or with -i, not both")
    if not given:
        return {}, search
    text = given[0]
    if text.lstrip().startswith("{"):
        data = _parse_json(text, "the -i inputs")
    else:
        try:
            with open(text) as f:
                data = _parse_json(f.read(), text)
        except OSError as e:
            raise ToilUserError(f"cannot read the inputs file {text}: {e.strerror}") from None
        search.insert(0, os.path.dirname(os.path.abspath(text)))
    if not isinstance(data, dict):
        raise ToilUserError("the inputs must be a JSON object")
    return data, search


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ToilUserError(f"{what}: not valid JSON: {e}") from None


def main(argv: list[str] | None = None) -> int:
    from toil.runtime.errors import install_excepthook

    install_excepthook()
    options = parser().parse_args(argv)
    from toil.compiler.wdl.frontend import run

    outputs = run(options, *read_inputs(options))
    text = json.dumps(outputs, indent=4)
    if options.output_file:
        with open(options.output_file, "w") as f:
            f.write(text + "\n")
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
