"""An argument parser whose errors are one line and whose options are resolved like Toil's."""
from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn, Sequence


class ToilArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error and env/config-file resolution of Toil's options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        message = " ".join(str(message).split())      # one line, even when a YAML error spans several
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        from toil.exceptions import ToilUserError
        from toil.runtime import options as opts

        ns = super().parse_args(args, namespace)
        if hasattr(ns, "maxCores"):
            try:
                opts.resolve(ns)
            except ToilUserError as e:
                self.error(str(e))
        return ns
