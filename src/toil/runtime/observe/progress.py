"""A live progress bar on the terminal while the leader runs (rich), fed by the monitor's snapshots."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

from toil.runtime.observe.snapshot import Snapshot

if TYPE_CHECKING:
    from toil.runtime.config import Config


def progress_wanted(config: "Config") -> bool:
    """On unless --disableProgress, or when output goes to a file or a pipe rather than a person."""
    if config.disableProgress:
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressSink:
    """Draws ``Jobs ━━━━ 120/400 · 30 queued · 4 running · 0 failed · 12.3 jobs/s`` on standard error."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]Jobs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "· {task.fields[queued]} queued · {task.fields[running]} running · "
                "[red]{task.fields[failed]} failed[/red] · {task.fields[rate]}"
            ),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            redirect_stdout=False,
            redirect_stderr=True,
            transient=False,
        )
        self.task = self.progress.add_task("jobs", total=None, queued=0, running=0, failed=0, rate="")
        self._handlers: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
        self.progress.start()
        self._route_logging()

    def _route_logging(self) -> None:
        """Let log lines scroll above the bar instead of tearing it: write them through rich's proxy."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stderr__,):
                self._handlers.append((handler, handler.stream))
                handler.setStream(sys.stderr)

    def publish(self, snapshot: Snapshot) -> None:
        c = snapshot.counts
        done = c["finished"]
        total = done + c["failed"] + c["queued"] + c["running"] + c["waiting"]  # queued counts issued-not-running
        elapsed = max(1e-6, snapshot.time - snapshot.started)
        self.progress.update(
            self.task,
            completed=done,
            total=max(total, done),
            queued=c["queued"],
            running=c["running"],
            failed=c["failed"],
            rate=f"{done / elapsed:.1f} jobs/s",
        )

    def close(self, snapshot: Snapshot) -> None:
        try:
            self.publish(snapshot)
        finally:
            self.progress.stop()
            for handler, stream in self._handlers:
                handler.setStream(stream)
