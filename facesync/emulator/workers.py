"""A pool of vision worker processes, so that dlib's work runs beside the server's GIL.

Each worker is a process started with the 'spawn' method (a fork of the
threaded server could inherit a held lock) the first time a call needs it;
it loads the dlib models once, then answers one task at a time over its own
pipe (vision_worker.py). A call checks out one idle worker, so a crash or a
hang hurts only the call that was using it: that call fails with
WorkerFailed, the dead process is reaped, and the slot starts a fresh worker
on its next use. close() stops every worker; a worker whose server died sees
its pipe close and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from typing import Any

from facesync.emulator import vision_worker

START_METHOD = "spawn"
START_SECONDS = 120.0  # a fresh interpreter importing numpy and dlib and loading the models
TASK_SECONDS = 120.0  # the largest image: decoding 64 MP, detection, 100 aligned chips
STOP_SECONDS = 5.0
log = logging.getLogger(__name__)


class WorkerFailed(Exception):
    """A worker died, hung, could not start, or hit a bug: the call cannot be answered."""


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any, name: str) -> None:
        ours, theirs = context.Pipe()
        self.process = context.Process(
            target=vision_worker.serve, args=(theirs,), name=name, daemon=True
        )
        self.process.start()
        theirs.close()  # so that the worker's death reads as end-of-file here
        self.connection = ours
        self.pid: int = self.process.pid
        try:
            kind, detail = self._receive(START_SECONDS, "start")
        except WorkerFailed:
            self.kill()
            raise
        if kind != "ready":
            self.kill()
            raise WorkerFailed(str(detail))

    def ask(self, task: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            self.connection.send((task, args))
        except OSError:
            raise self._died() from None
        return self._receive(TASK_SECONDS, task)

    def _receive(self, timeout: float, task: str) -> tuple[str, Any]:
        try:
            if not self.connection.poll(timeout):
                self.kill()
                raise WorkerFailed(f"vision worker {self.pid} gave no answer to {task} in time")
            answer: tuple[str, Any] = self.connection.recv()
        except (EOFError, OSError):
            raise self._died() from None
        return answer

    def _died(self) -> WorkerFailed:
        self.process.join(STOP_SECONDS)
        return WorkerFailed(f"vision worker {self.pid} died (exit code {self.process.exitcode})")

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Ask the worker to end; kill it if it does not."""
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(STOP_SECONDS)
        self.kill()

    def kill(self) -> None:
        """End the process and close the pipe (only from the thread that uses it)."""
        self.end_process()
        self.process.join(STOP_SECONDS)
        self.connection.close()

    def end_process(self) -> None:
        """Kill the process only: safe while another thread waits on the pipe,
        which then reads end-of-file and cleans up."""
        if self.process.is_alive():
            self.process.kill()


class _Slot:
    """A place for one worker; empty until first used and after a crash."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.worker: _Worker | None = None


class WorkerPool:
    """`size` workers started on demand; run() blocks until one is free."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self._context = multiprocessing.get_context(START_METHOD)
        self._slots = [_Slot(number) for number in range(size)]
        self._idle = list(reversed(self._slots))  # pop() hands out slot 0 first
        self._free = threading.Condition()
        self._busy: set[int] = set()  # pids of workers running a task
        self._started = 0
        self._closed = False

    def run(self, task: str, *args: Any) -> Any:
        """The worker's answer to `task(*args)`; raises WorkerFailed, or the
        ImageRefused the worker raised."""
        slot = self._checkout()
        try:
            worker = self._worker(slot)
            with self._free:
                self._busy.add(worker.pid)
            try:
                kind, value = worker.ask(task, args)
            except WorkerFailed:
                worker.kill()
                slot.worker = None
                raise
            finally:
                with self._free:
                    self._busy.discard(worker.pid)
        finally:
            self._checkin(slot)
        if kind == "ok":
            return value
        if kind == "raise":
            raise value
        raise WorkerFailed(str(value))

    def warm_up(self) -> None:
        """Start every worker now, in background threads (a long-running `serve`),
        so that the first calls do not wait for a fresh interpreter and the models."""
        for number in range(len(self._slots)):
            threading.Thread(
                target=self._start_one, name=f"facesync-vision-start-{number}", daemon=True
            ).start()

    def _start_one(self) -> None:
        try:
            slot = self._checkout()
        except WorkerFailed:
            return  # stopping
        try:
            self._worker(slot)
        except WorkerFailed as failure:  # the first call that needs it tries again
            log.warning("starting a vision worker failed: %s", failure)
        finally:
            self._checkin(slot)

    def _checkout(self) -> _Slot:
        with self._free:
            self._free.wait_for(lambda: self._idle or self._closed)
            if self._closed:
                raise WorkerFailed("the emulator is stopping")
            return self._idle.pop()

    def _checkin(self, slot: _Slot) -> None:
        with self._free:
            closed = self._closed
            self._idle.append(slot)
            self._free.notify()
        if closed and slot.worker is not None:
            slot.worker.stop()
            slot.worker = None

    def _worker(self, slot: _Slot) -> _Worker:
        """The slot's worker, started now if it has none (or it died while idle)."""
        if slot.worker is not None and not slot.worker.alive():
            log.warning("vision worker %s had died; starting a new one", slot.worker.pid)
            slot.worker.kill()
            slot.worker = None
        if slot.worker is None:
            with self._free:
                self._started += 1
            slot.worker = _Worker(self._context, f"facesync-vision-{slot.number}")
        return slot.worker

    def started(self) -> int:
        """How many worker processes were started so far (tests, benches)."""
        with self._free:
            return self._started

    def pids(self) -> list[int]:
        """The process ids of the live workers (tests, benches)."""
        return [s.worker.pid for s in self._slots if s.worker is not None and s.worker.alive()]

    def busy_pids(self) -> list[int]:
        """The process ids of the workers running a task now (tests)."""
        with self._free:
            return sorted(self._busy)

    def close(self) -> None:
        """Stop every worker: idle ones end at once, a busy one is killed (its call fails)."""
        with self._free:
            self._closed = True
            idle = list(self._idle)
            self._free.notify_all()
        for slot in self._slots:
            worker = slot.worker
            if worker is None:
                continue
            if slot in idle:
                worker.stop()
                slot.worker = None
            else:
                worker.end_process()
