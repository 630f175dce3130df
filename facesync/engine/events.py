"""What the engine tells whoever watches an apply: one event per finished change,
and a Ctrl-C as soon as it is pressed.

The engine knows no terminal; the command layer turns these events into a
live bar or plain lines (facesync.commands.progress). The executor calls a
sink from one thread only, so sinks need no locking.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from facesync.plan.model import Action, Change

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"


class ChangeEvents(Protocol):
    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        """`status` is succeeded / failed / skipped; `calls` the planned calls
        it accounts for (a replace is two), so a bar ends at its total."""


class StopEvents(Protocol):
    """What a sink may also show of a Ctrl-C (the terminal's sinks do; others need not)."""

    def stopping(self, in_flight: int) -> None:
        """The first Ctrl-C: no new call starts; the `in_flight` ones finish first."""

    def quitting(self, in_flight: int) -> None:
        """The second Ctrl-C: the run ends now, without waiting for `in_flight` calls."""


def tell_stop(sink: object, event: str, in_flight: int) -> None:
    """Call `stopping` or `quitting` (StopEvents) on a sink that has it."""
    method = getattr(sink, event, None)
    if callable(method):
        method(in_flight)


def planned_calls(change: Change) -> int:
    """Calls a change takes when all goes well (training polls not counted)."""
    return 2 if change.action is Action.REPLACE else 1


def total_calls(changes: Iterable[Change], *, train: bool = True) -> int:
    """The planned calls of the changes an apply runs (trainings only with `train`)."""
    return sum(planned_calls(c) for c in changes if train or c.action is not Action.TRAIN)
