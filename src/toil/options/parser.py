"""An argument parser whose errors are one line and whose options are resolved like Toil's."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn, Sequence

import configargparse


# configargparse ships no type information: its ArgumentParser is Any to mypy.
class ToilArgumentParser(configargparse.ArgumentParser):  # type: ignore[misc]
    """A configargparse parser, as Toil's ``Job.Runner.getDefaultArgumentParser()`` returns (so scripts may add
    their own options with ``env_var=`` or ``is_config_file=``), with a one-line error and Toil's resolution of
    its own options (command line > environment > --config file > default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        message = " ".join(str(message).split())  # one line, even when a YAML error spans several
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def parse_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        from toil.exceptions import ToilUserError
        from toil.options import common as opts

        ns: argparse.Namespace = super().parse_args(args, namespace)
        if hasattr(ns, "maxCores"):
            try:
                opts.resolve(ns)
            except ToilUserError as e:
                self.error(str(e))
        return ns
