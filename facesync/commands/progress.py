"""What the user sees while apply runs: a live bar on a terminal, plain lines
otherwise (CI logs, pipes), one line per finished change either way, and a
Ctrl-C acknowledged the moment it is pressed. Both are sinks of the engine's
events (facesync.engine.events)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from facesync.engine.events import FAILED, SUCCEEDED, ChangeEvents
from facesync.plan.model import Action, Change

# rich's names for the colours of facesync.plan.render's symbols
_STYLES = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
    Action.TRAIN: "cyan",
}


def line_for(change: Change, status: str, detail: str) -> str:
    if status == SUCCEEDED:
        return f"{change.action.symbol} {change.address}: {detail}"
    if status == FAILED:
        return f"! {change.address}: failed: {detail}"
    return f"  {change.address}: skipped ({detail})"


def stopping_line(in_flight: int) -> str:
    """What the first Ctrl-C prints at once."""
    if in_flight == 0:
        return "Stopping (no call in flight)."
    return (
        f"Stopping after {in_flight} call{_s(in_flight)} in flight... "
        "(Ctrl-C again to quit now)"
    )


def quitting_line(in_flight: int) -> str:
    """What the second Ctrl-C prints before the process ends."""
    if in_flight == 0:
        return "Quitting now."
    return (
        f"Quitting now, without waiting for {in_flight} call{_s(in_flight)} in flight: "
        "run facesync apply again; it adopts whatever they made."
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


class PlainProgress:
    """One line per finished change, flushed at once (readable in CI logs)."""

    def __init__(self, total_calls: int, out: TextIO) -> None:
        self.total = total_calls
        self.done = 0
        self._out = out

    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        self.done += calls
        self._print(line_for(change, status, detail))

    def stopping(self, in_flight: int) -> None:
        self._print(stopping_line(in_flight))

    def quitting(self, in_flight: int) -> None:
        self._print(quitting_line(in_flight))

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)


class RichProgress:
    """A live bar (calls done / total, rate, ETA) with every finished change
    printed above it; after a Ctrl-C the bar says so and counts only the calls
    that really finish."""

    def __init__(self, progress: object, task: int, total_calls: int, *, color: bool) -> None:
        self._progress = progress
        self._task = task
        self._color = color
        self.total = total_calls
        self.done = 0
        self._started = time.monotonic()

    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        self.done += calls
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = f"{self.done / elapsed:.1f} calls/s"
        self._progress.update(self._task, advance=calls, rate=rate)  # type: ignore[attr-defined]
        self._print(self._styled(change, status, detail))

    def stopping(self, in_flight: int) -> None:
        self._progress.update(self._task, description="Stopping")  # type: ignore[attr-defined]
        self._print(stopping_line(in_flight))

    def quitting(self, in_flight: int) -> None:
        self._print(quitting_line(in_flight))
        self._progress.stop()  # type: ignore[attr-defined]  # the cursor comes back

    def _styled(self, change: Change, status: str, detail: str) -> object:
        from rich.text import Text

        text = line_for(change, status, detail)
        if not self._color or status not in (SUCCEEDED, FAILED):
            return Text(text)
        head = change.action.symbol if status == SUCCEEDED else "!"
        style = _STYLES[change.action] if status == SUCCEEDED else "bold red"
        return Text.assemble((head, style), text[len(head):])

    def _print(self, line: object) -> None:
        console = self._progress.console  # type: ignore[attr-defined]
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def make_progress(
    total_calls: int,
    *,
    tty: bool,
    out: TextIO | None = None,
    color: bool = False,
    label: str = "Applying",
) -> Iterator[ChangeEvents]:
    """A sink for one apply: rich's live bar on a terminal, plain lines otherwise.
    `color`: whether the terminal may get colours (facesync.commands.common.use_color);
    `label`: the bar's first word."""
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

    console = Console(file=stream, color_system="auto" if color else None, no_color=not color)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task(label, total=max(total_calls, 1), rate="")
        yield RichProgress(progress, task, total_calls, color=color)
