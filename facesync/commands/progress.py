"""What the user sees while apply runs: a live bar on a terminal, plain lines
otherwise (CI logs, pipes), one per finished change. Both are sinks of the
engine's events (facesync.engine.events)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from facesync.engine.events import FAILED, SUCCEEDED, ChangeEvents
from facesync.plan.model import Change, ResourceType


def line_for(change: Change, status: str, detail: str) -> str:
    if status == SUCCEEDED:
        return f"{change.action.symbol} {change.address}: {detail}"
    if status == FAILED:
        return f"! {change.address}: failed: {detail}"
    return f"  {change.address}: skipped ({detail})"


class PlainProgress:
    """One line per finished change, flushed at once (readable in CI logs)."""

    def __init__(self, total_calls: int, out: TextIO) -> None:
        self.total = total_calls
        self.done = 0
        self._out = out

    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        self.done += calls
        print(line_for(change, status, detail), file=self._out, flush=True)


class RichProgress:
    """A live bar (calls done / total, rate, ETA); failures and group-level
    lines print above it, face lines only move the bar."""

    def __init__(self, progress: object, task: int, total_calls: int) -> None:
        self._progress = progress
        self._task = task
        self.total = total_calls
        self.done = 0
        self._started = time.monotonic()

    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        self.done += calls
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = f"{self.done / elapsed:.1f} calls/s"
        self._progress.update(self._task, advance=calls, rate=rate)  # type: ignore[attr-defined]
        if status != SUCCEEDED or change.address.type is not ResourceType.FACE:
            console = self._progress.console  # type: ignore[attr-defined]
            console.print(line_for(change, status, detail), markup=False, highlight=False,
                          soft_wrap=True)


@contextmanager
def make_progress(
    total_calls: int, *, tty: bool, out: TextIO | None = None
) -> Iterator[ChangeEvents]:
    """A sink for one apply: rich's live bar on a terminal, plain lines otherwise."""
    stream = out or sys.stdout
    if not tty:
        yield PlainProgress(total_calls, stream)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("Applying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=False,
    )
    with progress:
        task = progress.add_task("apply", total=max(total_calls, 1), rate="")
        yield RichProgress(progress, task, total_calls)
