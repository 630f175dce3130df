"""Record every id as apply goes, at a cost that does not grow with the gallery.

Each successful call is appended to the results log (fsynced: durable before
apply moves on, facesync.state.results_log) and recorded in a WorkingLock;
every `fold_seconds`, at `replace_state` and at `close` the working state is
folded into the lock file. A lock file left behind by a killed apply is
brought up to date from its results log before anything else reads it
(`recorded_state`, `recover`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from facesync.engine.record import CallResult, record_into
from facesync.engine.working_lock import WorkingLock
from facesync.errors import FacesyncError, LockFileError, PlanError
from facesync.plan.model import Change
from facesync.plan.saved import change_doc, change_from_doc
from facesync.state.lock_file import read_lock, write_lock
from facesync.state.model import LOCK_VERSION, LockState
from facesync.state.results_log import ResultsLog, clear_results, pending_results

FOLD_SECONDS = 5.0  # how long the lock file may lag behind the results log
_READ_TRIES = 3


class LockSink(Protocol):
    """Where apply records the lock as it goes (LockFileWriter, or a fake in tests)."""

    @property
    def state(self) -> LockState: ...

    def checkpoint(self, change: Change, result: CallResult) -> None: ...
    def replace_state(self, state: LockState) -> None: ...


class LockFileWriter:
    """Logs each successful mutation durably and folds the log into the lock file
    now and then (thread-safe). Use it as a context manager, or call `close`."""

    def __init__(
        self,
        path: Path,
        state: LockState,
        *,
        fold_seconds: float = FOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._warn = warn
        self._working = WorkingLock(state)
        self._log = ResultsLog(path, state.serial)
        self._fold_seconds = fold_seconds
        self._clock = clock
        self._last_fold = clock()
        self._mutex = threading.Lock()  # guards the working state and the log
        self._folding = threading.Lock()  # one fold at a time, in serial order
        self._dirty = False

    def __enter__(self) -> LockFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def state(self) -> LockState:
        """What is recorded now (folded or not)."""
        with self._mutex:
            return self._working.to_state()

    def checkpoint(self, change: Change, result: CallResult) -> None:
        with self._mutex:
            # Recorded first: a result that does not fit the lock (a stale plan) is
            # refused before it reaches the log, which every later read replays.
            record_into(self._working, change, result)
            self._dirty = True
            self._log.append(_entry(change, result))
            due = self._clock() - self._last_fold >= self._fold_seconds
        if due and self._folding.acquire(blocking=False):
            try:
                self._fold()
            finally:
                self._folding.release()

    def replace_state(self, state: LockState) -> None:
        """Take `state` as what is recorded (lock-only updates) and write it."""
        with self._folding:
            with self._mutex:
                if state == self._working.to_state():
                    return
                self._working = WorkingLock(state)
                self._dirty = True
            self._fold()

    def write_now(self) -> None:
        """Write the lock file although nothing changed (a lock --rebind moved)."""
        with self._folding:
            self._fold()

    def close(self) -> None:
        """Fold what the lock file does not have yet; the log is then empty."""
        with self._folding:
            if self._dirty:
                self._fold()
            with self._mutex:
                self._log.close()

    def _fold(self) -> None:
        """Write the working state as the lock file's next version (caller holds
        `_folding`): the snapshot and the switch to a new log segment happen
        together, so every result is in exactly one of them."""
        with self._mutex:
            snapshot = self._working.to_state()
            self._working.serial = snapshot.serial + 1
            self._working.version = LOCK_VERSION  # what write_lock writes
            self._log.rotate(snapshot.serial + 1)
            self._dirty = False
            self._last_fold = self._clock()
        written = write_lock(self.path, snapshot, notice=self._warn)
        self._log.remove_before(written.serial)


def _entry(change: Change, result: CallResult) -> dict[str, Any]:
    return {"change": change_doc(change), "result": _result_doc(result)}


def _result_doc(result: CallResult) -> dict[str, str]:
    doc = {
        "personId": result.person_id,
        "persistedFaceId": result.persisted_face_id,
        "trainingStatus": result.training_status,
    }
    return {k: v for k, v in doc.items() if v is not None}


def _result_from_doc(doc: object) -> CallResult:
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise PlanError("a results line whose result is not an object of texts")
    return CallResult(
        person_id=doc.get("personId"),
        persisted_face_id=doc.get("persistedFaceId"),
        training_status=doc.get("trainingStatus"),
    )


# --- reading a lock file with what a killed apply logged ------------------------------


def recorded_state(
    path: Path,
    endpoint: str,
    *,
    rebind: bool = False,
    warn: Callable[[str], None] | None = None,
) -> LockState:
    """The lock file's state with its pending results replayed (in memory only:
    nothing is written, so plan, show and identify never need the run lock)."""
    for attempt in range(_READ_TRIES):
        state = read_lock(path, endpoint, rebind=rebind)
        try:
            return _replayed(path, state, warn)
        except LockFileError:
            if attempt == _READ_TRIES - 1:
                raise
            time.sleep(0.05)  # an apply may have folded meanwhile: read both again
    raise AssertionError("unreachable")


def recover(
    path: Path, state: LockState, *, warn: Callable[[str], None] | None = None
) -> LockState:
    """Under the run lock: fold a killed apply's results into the lock file and
    empty its log; return what the lock file then records."""
    replayed = _replayed(path, state, warn)
    if replayed == state:
        clear_results(path)
        return state
    written = write_lock(path, replayed, notice=warn)
    clear_results(path)
    if warn is not None:
        warn(f"Recorded the results an interrupted apply had logged in {path}.")
    return written


def _replayed(path: Path, state: LockState, warn: Callable[[str], None] | None) -> LockState:
    docs = pending_results(path, state.serial, warn=warn)
    if not docs:
        return state
    working = WorkingLock(state)
    for number, doc in enumerate(docs, 1):
        try:
            change = change_from_doc(doc.get("change"))
            result = _result_from_doc(doc.get("result"))
        except FacesyncError as exc:
            raise LockFileError(
                f"the results log of {path} is damaged at entry {number} ({exc}); "
                "restore the lock file from Git and run facesync apply"
            ) from None
        try:
            record_into(working, change, result)
        except PlanError as exc:  # the log was written on top of another lock file
            raise LockFileError(
                f"the results log of {path} does not fit the lock file at entry {number} "
                f"({exc.message.removesuffix('; plan again')}); put back the lock file "
                "that apply was writing, or delete the results log in .facesync/ if you "
                "replaced the lock file on purpose"
            ) from None
    return working.to_state()
