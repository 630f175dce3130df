"""Run a plan against a backend: dependency order, parallel across persons,
one call at a time per person, a checkpoint after every success.

The main thread schedules; worker threads make calls and checkpoint. When a
change fails, the changes that need it are skipped and only the failure is
reported (Terraform's walker does the same). An unreachable endpoint or Ctrl-C
stops new work; calls already in flight finish and are recorded first. A
second Ctrl-C ends the process at once (`_Run.quit_now`).
"""

from __future__ import annotations

import heapq
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, NoReturn

from facesync.backends.base import FaceBackend, TrainingInfo
from facesync.engine.actions import CheckpointFailed, Context, Outcome, run_change
from facesync.engine.events import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    ChangeEvents,
    planned_calls,
    tell_stop,
)
from facesync.engine.graph import ExecutionGraph, build_graph
from facesync.engine.outcomes import fails_everything
from facesync.engine.record import CallResult
from facesync.engine.training import TrainingError, run_training
from facesync.errors import (
    EXIT_INTERRUPTED,
    ApiError,
    ApiUnreachableError,
    FacesyncError,
    Interrupted,
)
from facesync.plan.model import Action, Change, Plan, ResourceType
from facesync.state.journal import Journal


@dataclass
class ApplyReport:
    succeeded: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, FacesyncError]] = field(default_factory=list)  # root causes
    skipped: list[Change] = field(default_factory=list)  # needed a change that failed
    training: dict[str, TrainingInfo] = field(default_factory=dict)
    calls: int = 0  # backend operations the passes made (training polls included)
    seconds: float = 0.0
    # Recovery (facesync.engine.converge, docs/recovery.md): passes run (1 when all
    # went well), failed calls that an extra pass was run for, objects adopted,
    # and the calls spent reading the server to reconcile (the refreshes of extra
    # passes, plus the GETs of unrecorded faces in any refresh).
    passes: int = 1
    recovered: int = 0
    adopted: int = 0
    reconcile_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def execute(
    plan: Plan,
    backend: FaceBackend,
    *,
    checkpoint: Callable[[Change, CallResult], None],
    parallelism: int = 8,
    train: bool = True,
    wait: bool = True,
    training_timeout: float = 600.0,
    progress: ChangeEvents | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    journal: Journal | None = None,
    quit_now: Callable[[], NoReturn] | None = None,
) -> ApplyReport:
    """Apply `plan`; see the module docstring. `journal` records an intent before
    every call that creates something; `sleep`/`clock` exist for tests, and
    `quit_now` (what a second Ctrl-C does: end the process) too."""
    changes = [c for c in plan.changes if train or c.action is not Action.TRAIN]
    stop = threading.Event()
    counting = _Counting(backend)
    recording = _RecordingGate(checkpoint)
    ctx = Context(
        backend=counting,  # type: ignore[arg-type]
        checkpoint=recording,
        sleep=sleep or stop.wait,  # stop.wait: a Ctrl-C cuts polling waits short
        clock=clock,
        stop=stop,
        wait=wait,
        training_timeout=training_timeout,
        journal=journal,
    )
    run = _Run(build_graph(changes), ctx, max(1, parallelism), progress,
               recording=recording, quit_now=quit_now or _exit_now)
    started = time.monotonic()
    try:
        run.go()
    finally:
        run.report.calls = counting.calls
        run.report.seconds = time.monotonic() - started
    return run.report


class _Run:
    """Scheduler state of one execute() call (main thread only)."""

    def __init__(
        self, graph: ExecutionGraph, ctx: Context, parallelism: int, progress: ChangeEvents | None,
        *, recording: _RecordingGate, quit_now: Callable[[], NoReturn],
    ) -> None:
        self.graph, self.ctx, self.parallelism, self.progress = graph, ctx, parallelism, progress
        self.report = ApplyReport()
        self.followers = graph.dependents()
        self.waiting = {n.index: len(n.waits_for) for n in graph.nodes}
        self.status: dict[int, str] = {}
        self.doomed: set[int] = set()
        self.ready = [(n.priority, n.index) for n in graph.nodes if not n.waits_for]
        heapq.heapify(self.ready)
        self.in_flight: dict[Future[Outcome], int] = {}
        self.halted = False
        self.interrupted = False
        self.fatal: BaseException | None = None
        self.recording, self.quit = recording, quit_now

    def go(self) -> None:
        pool = ThreadPoolExecutor(self.parallelism, thread_name_prefix="facesync-apply")
        patient = True  # wait for in-flight calls when leaving
        try:
            self._loop(pool)
        except KeyboardInterrupt:
            self._halt()
            self.interrupted = True
            try:
                tell_stop(self.progress, "stopping", len(self.in_flight))  # at once
                self._drain()
            except KeyboardInterrupt:
                patient = False
                self.quit_now()
            self._finish_report()
            err = Interrupted(
                f"interrupted: {len(self.report.succeeded)} of {len(self.graph.nodes)} changes "
                "were made and recorded in the lock; run facesync apply again to finish"
            )
            err.report = self.report  # type: ignore[attr-defined]
            raise err from None
        finally:
            pool.shutdown(wait=patient, cancel_futures=True)
        self._finish_report()
        if self.fatal is not None:
            raise self.fatal

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            self._fill(pool)
            if not self.in_flight:
                return
            done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.in_flight[f]):
                self._collect(future)

    def quit_now(self) -> None:
        """A second Ctrl-C: end the process without waiting for the calls in flight.

        Unwinding would wait for them (the pool's threads are joined at exit, an
        embedded emulator finishes its requests), so the process ends here, once
        no result is being recorded: every finished call's result is in the
        results log already (appended and fsynced, facesync.engine.checkpoint),
        which the next command folds into the lock file; the lock file is only
        ever replaced whole. What the calls in flight make on the server, the
        next apply adopts (journal intents, markers: docs/recovery.md)."""
        try:
            with self.recording.closed():
                tell_stop(self.progress, "quitting", len(self.in_flight))
                self.quit()
        except KeyboardInterrupt:  # a third Ctrl-C while a result is being written
            self.quit()

    def _drain(self) -> None:
        while self.in_flight:
            done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.in_flight[f]):
                self._collect(future)

    def _fill(self, pool: ThreadPoolExecutor) -> None:
        while self.ready and not self.halted and len(self.in_flight) < self.parallelism:
            _, i = heapq.heappop(self.ready)
            if self._pointless(i):
                self._settle(i, SKIPPED, "every change it follows failed or was skipped")
                continue
            node = self.graph.nodes[i]
            run = run_training if node.change.action is Action.TRAIN else run_change
            self.in_flight[pool.submit(run, node.change, self.ctx)] = i

    def _pointless(self, i: int) -> bool:
        """A training whose every prerequisite failed or was skipped: nothing new
        to train (the lock still says the group needs it)."""
        node = self.graph.nodes[i]
        if node.change.action is not Action.TRAIN or not node.after:
            return False
        return all(self.status.get(j) != SUCCEEDED for j in node.after)

    def _collect(self, future: Future[Outcome]) -> None:
        i = self.in_flight.pop(future)
        change = self.graph.nodes[i].change
        try:
            outcome = future.result()
        except FacesyncError as exc:
            self._failed(i, change, exc)
            return
        except CheckpointFailed as exc:
            self._fatal(i, exc.original)
            return
        except Exception as exc:  # a bug: stop cleanly, then show it
            self._fatal(i, exc)
            return
        if outcome.training is not None:
            self.report.training[change.payload.group_id] = outcome.training
        self._settle(i, SUCCEEDED, outcome.detail)

    def _failed(self, i: int, change: Change, exc: FacesyncError) -> None:
        if isinstance(exc, TrainingError):
            self.report.training[change.payload.group_id] = exc.info
        if fails_everything(exc):
            self._halt()  # every other call would fail the same way
        if isinstance(exc, ApiError) and not isinstance(exc, ApiUnreachableError):
            exc = _at(exc, change)
        self.report.failed.append((change, exc))
        self._settle(i, FAILED, _reason(exc, change))

    def _fatal(self, i: int, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        self._halt()
        self.status[i] = FAILED

    def _halt(self) -> None:
        self.halted = True
        self.ctx.stop.set()

    def _settle(self, i: int, status: str, detail: str) -> None:
        """Record node i's outcome and release what waited for it."""
        todo = [(i, status, detail)]
        while todo:
            j, st, why = todo.pop()
            self.status[j] = st
            change = self.graph.nodes[j].change
            if st == SUCCEEDED:
                self.report.succeeded.append(change)
            elif st == SKIPPED:
                self.report.skipped.append(change)
            if self.progress is not None:
                self.progress.change_finished(change, st, why, planned_calls(change))
            for k in self.followers[j]:
                if k in self.status:
                    continue
                if st != SUCCEEDED and j in self.graph.nodes[k].requires:
                    self.doomed.add(k)
                self.waiting[k] -= 1
                if self.waiting[k] == 0:
                    if k in self.doomed:
                        todo.append((k, SKIPPED, f"{change.address} was not {_done_word(change)}"))
                    else:
                        heapq.heappush(self.ready, (self.graph.nodes[k].priority, k))

    def _finish_report(self) -> None:
        for node in self.graph.nodes:
            if node.index not in self.status:
                self.status[node.index] = SKIPPED
                self.report.skipped.append(node.change)
                # After a Ctrl-C, what never started is not shown as done: the
                # bar stays where the calls left it.
                if self.progress is not None and not self.interrupted:
                    self.progress.change_finished(
                        node.change, SKIPPED, "apply stopped", planned_calls(node.change)
                    )
        order = {id(n.change): n.index for n in self.graph.nodes}
        self.report.succeeded.sort(key=lambda c: order[id(c)])
        self.report.skipped.sort(key=lambda c: order[id(c)])
        self.report.failed.sort(key=lambda f: order[id(f[0])])


def _at(exc: ApiError, change: Change) -> ApiError:
    """The same error, told about the manifest address instead of server ids."""
    address = str(change.address)
    if type(exc) is not ApiError or (exc.address == address and exc.operation):
        return exc
    operation = exc.operation or _operation(change)
    return ApiError(
        exc.status, exc.code, exc.service_message, operation=operation, address=address,
        ambiguous=exc.ambiguous,
    )


def _operation(change: Change) -> str:
    if change.action is Action.TRAIN:
        return "train group"
    noun = change.address.type.value
    if change.address.type is ResourceType.FACE and change.action is Action.CREATE:
        return "add face"
    return f"{change.action.value} {noun}"


def _reason(exc: FacesyncError, change: Change) -> str:
    text = str(exc)
    prefix = f"{change.address}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _done_word(change: Change) -> str:
    return {Action.DELETE: "deleted", Action.UPDATE: "updated", Action.TRAIN: "trained"}.get(
        change.action, "created"
    )


def _exit_now() -> NoReturn:
    """End the process with Ctrl-C's exit code, skipping cleanup that would wait."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(EXIT_INTERRUPTED)


class _RecordingGate:
    """The checkpoint as workers call it, with a way to wait until no call of it
    is under way and keep new ones out (a second Ctrl-C quits only then)."""

    def __init__(self, checkpoint: Callable[[Change, CallResult], None]) -> None:
        self._checkpoint = checkpoint
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False

    def __call__(self, change: Change, result: CallResult) -> None:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._busy += 1
        try:
            self._checkpoint(change, result)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        """No checkpoint runs inside: the ones under way end first, new ones wait."""
        with self._cond:
            self._closed = True
            while self._busy:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class _Counting:
    """Counts the backend operations the executor makes (any thread)."""

    def __init__(self, backend: FaceBackend) -> None:
        self._backend = backend
        self._mutex = threading.Lock()
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._backend, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._mutex:
                self.calls += 1
            return target(*args, **kwargs)

        return counted
