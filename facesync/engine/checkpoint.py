"""Write the lock file as apply goes: one checkpoint per successful server call,
so an interrupted apply loses no id."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from facesync.engine.record import CallResult, record
from facesync.plan.model import Change
from facesync.state.lock_file import write_lock
from facesync.state.model import LockState


class LockSink(Protocol):
    """Where apply records the lock as it goes (LockFileWriter, or a fake in tests)."""

    state: LockState

    def checkpoint(self, change: Change, result: CallResult) -> None: ...
    def replace_state(self, state: LockState) -> None: ...


class LockFileWriter:
    """Records each successful mutation in the lock file at once (thread-safe)."""

    def __init__(self, path: Path, state: LockState) -> None:
        self.path = path
        self.state = state
        self._mutex = threading.Lock()

    def checkpoint(self, change: Change, result: CallResult) -> None:
        with self._mutex:
            self.state = write_lock(self.path, record(self.state, change, result))

    def replace_state(self, state: LockState) -> None:
        """Write `state` if it differs from what is recorded (lock-only updates)."""
        with self._mutex:
            if state != self.state:
                self.state = write_lock(self.path, state)
