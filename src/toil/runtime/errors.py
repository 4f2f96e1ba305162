"""Show user errors as one line, not a traceback, when they end a program."""

from __future__ import annotations

import os
import sys
from types import TracebackType

_installed = False


def install_excepthook() -> None:
    """Print ToilUserError subclasses as 'prog: error: message' and exit with their code.

    Other exceptions keep Python's usual traceback. TOIL_TRACEBACK=1 shows
    tracebacks for user errors too.
    """
    global _installed
    if _installed:
        return
    _installed = True
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        from toil.exceptions import ToilUserError

        if isinstance(value, ToilUserError) and not os.environ.get("TOIL_TRACEBACK"):
            prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "toil"
            text = " ".join(str(value).split("\n"))
            sys.stderr.write(f"{prog}: error: {text}\n")
            sys.stderr.flush()
            code = getattr(value, "exit_code", 1) or 1
            if code != 1:
                sys.stdout.flush()
                os._exit(code)
            return
        previous(kind, value, tb)

    sys.excepthook = hook
