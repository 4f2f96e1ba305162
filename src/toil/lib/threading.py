"""Toil's ``toil.lib.threading``: cpu_count as the scheduler sees it, and a thread that re-raises."""

from __future__ import annotations

import threading
from typing import Any

from toil.lib.host import cpu_count


class ExceptionalThread(threading.Thread):
    """A thread whose exception is raised again by ``join()`` in the thread that joins it.

    Subclasses override ``tryRun`` (not ``run``); a plain ``target=`` works too.
    """

    exc_info: Any = None

    def run(self) -> None:
        try:
            self.tryRun()
        except BaseException as e:
            self.exc_info = e
            raise

    def tryRun(self) -> None:
        super().run()

    def join(self, *args: Any, **kwargs: Any) -> None:
        super().join(*args, **kwargs)
        if not self.is_alive() and self.exc_info is not None:
            exc, self.exc_info = self.exc_info, None
            raise exc


__all__ = ["cpu_count", "ExceptionalThread"]
