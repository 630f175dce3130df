"""What the engine tells whoever watches an apply: one event per finished change.

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


def planned_calls(change: Change) -> int:
    """Calls a change takes when all goes well (training polls not counted)."""
    return 2 if change.action is Action.REPLACE else 1


def total_calls(changes: Iterable[Change], *, train: bool = True) -> int:
    """The planned calls of the changes an apply runs (trainings only with `train`)."""
    return sum(planned_calls(c) for c in changes if train or c.action is not Action.TRAIN)
