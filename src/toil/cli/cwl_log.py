"""cwltool's messages as toil-cwl-runner shows them: every error as one line naming the file and line.

cwltool reports a document or input object that fails validation as a
multi-line, indented report (schema-salad's), a crash in loading as "I'm
sorry, ...", and a bad tool input with the tool's usage. Here each error
record becomes one line, ``toil-cwl-runner: error: WHAT: FILE:LINE:COL: DETAIL``
(the innermost findings of the report, which say what is wrong and where);
other records keep cwltool's format. With ``--debug`` the traceback cwltool
attaches is printed before that line. An exception raised inside cwltool on a
document or input object its validation let through (``upstream_crash``) is
reported as a mistake in them, not as cwltool's "Unhandled error".
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from typing import Any, NoReturn

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOCATED = re.compile(r"^(\S.*?:\d+:\d+:)(\s*)(.*)$")
TRY_AGAIN = re.compile(r",? try again with --debug for more information[.:]?")
MAX_LENGTH = 2000
MAX_FINDINGS = 3


def one_line(message: str, inputs: str = "the document") -> str:
    """A cwltool error message (a validation report, a crash report) condensed to one line.

    ``inputs`` names the document and job order, for the messages of cwltool that name no file.
    """
    lines = [ANSI.sub("", x).rstrip() for x in message.splitlines()]
    if lines and lines[0].startswith("I'm sorry, I couldn't load this CWL file"):
        lines = [f"cannot load {inputs}:"] + [x.removeprefix("The error was:").strip() for x in lines[1:]]
    if "Raw input object:" in lines:
        lines = lines[: lines.index("Raw input object:")]
    lines = [x for x in lines if x.strip()]
    if not lines:
        return "failed (no details: run with --debug)"
    header = TRY_AGAIN.sub("", lines[0]).strip().rstrip(":.")
    if LOCATED.match(lines[0]):
        header, body = "", lines
    else:
        body = lines[1:]
    findings = _findings(body)
    text = ""
    for finding in findings[:MAX_FINDINGS]:
        text += ("" if not text else " " if text.endswith(":") else "; ") + finding
    if len(findings) > MAX_FINDINGS:
        text += f" (and {len(findings) - MAX_FINDINGS} more)"
    text = f"{header}: {text}" if header and text else header or text
    text = " ".join(text.split())
    return text if len(text) <= MAX_LENGTH else text[:MAX_LENGTH] + " ..."


def _findings(body: list[str]) -> list[str]:
    """The innermost entries of a schema-salad report (FILE:LINE:COL: text, nested by indentation)."""
    entries: list[tuple[str, int, str]] = []  # (location, indent, text)
    for line in body:
        m = LOCATED.match(line)
        if m:
            entries.append((m.group(1), len(m.group(2)), m.group(3).strip()))
        elif entries and line.startswith(" "):
            loc, indent, text = entries[-1]
            entries[-1] = (loc, indent, f"{text} {line.strip()}")
        else:
            entries.append(("", 0, line.strip()))
    out = []
    for i, (loc, indent, text) in enumerate(entries):
        deeper = i + 1 < len(entries) and entries[i + 1][0] and entries[i + 1][1] > indent
        if not deeper and text:
            out.append(f"{loc} {text}" if loc else text)
    return out


class OneLineErrors(logging.StreamHandler):
    """A handler for cwltool's logger: records as cwltool prints them, errors as one 'prog: error:' line."""

    def __init__(self, prog: str, inputs: str = "the document") -> None:
        super().__init__(sys.stderr)
        self.prog = prog
        self.inputs = inputs
        self.last_error: str | None = None
        self.ended_with_error = False

    def write_error(self, text: str) -> None:
        self.last_error = text
        self.stream.write(f"{self.prog}: error: {text}\n")
        self.ended_with_error = True
        self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.levelno >= logging.ERROR:
                if record.exc_info and self.level <= logging.DEBUG:
                    self.stream.write(logging.Formatter().formatException(record.exc_info) + "\n")
                elif record.exc_info and record.exc_info[1] is not None:
                    message = f"{message}: {record.exc_info[1]}"  # the reason, without the traceback
                self.write_error(one_line(message, self.inputs))
            elif message.startswith("Final process status is") and self.last_error:
                return  # the error line said it
            else:
                record.exc_info = record.exc_info if self.level <= logging.DEBUG else None
                super().emit(record)
                self.ended_with_error = False
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


UPSTREAM = (f"{os.sep}cwltool{os.sep}", f"{os.sep}schema_salad{os.sep}", f"{os.sep}cwl_utils{os.sep}")


def upstream_crash(e: BaseException, what: str) -> Exception | None:
    """A WorkflowException for an unexpected exception raised inside cwltool or schema-salad (a malformed document
    or input object that their validation let pass), so that it is reported as a mistake, in one line."""
    from cwltool.errors import WorkflowException

    if not isinstance(e, (TypeError, AttributeError, KeyError, IndexError, ValueError, OSError)):
        return None
    frames = traceback.extract_tb(e.__traceback__)
    if not frames or not any(part in frames[-1].filename for part in UPSTREAM):
        return None
    if isinstance(e, OSError):
        return WorkflowException(f"{what}: cannot read {e.filename or 'a file'}: {e.strerror or e}")
    return WorkflowException(
        f"cwltool cannot process {what}: {type(e).__name__}: {e} (something in them has the "
        f"wrong type or shape; --debug shows where)"
    )


def one_line_parser_errors(parser: argparse.ArgumentParser, prog: str) -> None:
    """Make an argparse parser report a mistake in one line instead of its usage and the error."""

    def error(message: str) -> NoReturn:
        message = " ".join(str(message).split())
        sys.stderr.write(f"{prog}: error: {message} (see {prog} --help)\n")
        raise SystemExit(2)

    setattr(parser, "error", error)


_active: list[OneLineErrors] = []  # the handler of the run in progress


def patch_tool_input_parser(handler: OneLineErrors) -> None:
    """cwltool parses a tool's inputs given as flags with a parser of its own: make its errors one line too."""
    import cwltool.main

    _active[:] = [handler]
    original = cwltool.main.generate_parser
    if getattr(original, "_toil_one_line", False):
        return

    def generate_parser(toolparser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> argparse.ArgumentParser:
        try:
            parser = original(toolparser, *args, **kwargs)
        except Exception as e:
            converted = upstream_crash(e, f"the inputs of {toolparser.prog}")
            if converted is None:
                raise
            raise converted from e
        doc = parser.prog

        def error(message: str) -> NoReturn:
            usage = " ".join(parser.format_usage().split()).removeprefix("usage: ")
            _active[0].write_error(
                f"{doc}: {message} (the tool's inputs: {usage}; options of {_active[0].prog} go before the document)"
            )
            raise SystemExit(2)

        setattr(parser, "error", error)
        return parser

    setattr(generate_parser, "_toil_one_line", True)
    cwltool.main.generate_parser = generate_parser
