"""What apply prints: plain lines off a terminal, a live bar on one, one line
per finished change either way, and what Ctrl-C prints and does."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from facesync.commands.progress import make_progress, quitting_line, stopping_line
from facesync.engine.executor import execute
from facesync.errors import ApiError, Interrupted
from facesync.plan.model import Change
from tests.fakes import FakeBackend
from tests.unit.engine.builders import enrolment


def test_off_a_terminal_each_finished_change_is_one_plain_line(tmp_path: Path):
    fake = FakeBackend()
    out = io.StringIO()
    with make_progress(5, tty=False, out=out) as progress:
        execute(enrolment(tmp_path, persons=1, faces=2), fake, checkpoint=lambda c, r: None,
                progress=progress, sleep=lambda s: None)  # fmt: skip
    lines = out.getvalue().splitlines()
    person_id = next(iter(fake.group("staff").persons))
    assert lines[0] == "+ staff: created"
    assert lines[1] == f"+ staff/p00: created (personId {person_id})"
    assert lines[2].startswith("+ staff/p00/p00-0.jpg: added (persistedFaceId ")
    assert lines[-1] == "* staff: trained"
    assert len(lines) == 5


def test_failures_and_skips_say_why(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("create_person", ApiError(400, "BadArgument", "'name' is too long."))
    out = io.StringIO()
    with make_progress(5, tty=False, out=out) as progress:
        execute(enrolment(tmp_path, persons=1, faces=1), fake, checkpoint=lambda c, r: None,
                progress=progress, sleep=lambda s: None)  # fmt: skip
    lines = out.getvalue().splitlines()
    assert (
        "! staff/p00: failed: create person failed: HTTP 400 BadArgument: 'name' is too long."
        in lines
    )
    assert "  staff/p00/p00-0.jpg: skipped (staff/p00 was not created)" in lines


def test_on_a_terminal_a_bar_counts_calls_and_prints_failures(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("add_face", ApiError(400, "InvalidImage", "No face detected in the image."))
    out = io.StringIO()
    with make_progress(5, tty=True, out=out) as progress:
        execute(enrolment(tmp_path, persons=1, faces=2), fake, checkpoint=lambda c, r: None,
                progress=progress, sleep=lambda s: None)  # fmt: skip
    text = out.getvalue()
    assert "5/5" in text
    assert "calls/s" in text
    assert "No face detected in the image." in text


def test_on_a_terminal_every_added_face_shows_its_own_line(tmp_path: Path):
    fake = FakeBackend()
    out = io.StringIO()
    with make_progress(14, tty=True, out=out) as progress:
        execute(enrolment(tmp_path, persons=3, faces=3), fake, checkpoint=lambda c, r: None,
                progress=progress, sleep=lambda s: None)  # fmt: skip
    added = [line for line in out.getvalue().splitlines() if ": added (persistedFaceId " in line]
    assert len(added) == 9
    assert sorted(line.split(":")[0] for line in added) == [
        f"+ staff/p0{p}/p0{p}-{f}.jpg" for p in range(3) for f in range(3)
    ]


def test_a_terminal_gets_colours_only_when_they_are_allowed(tmp_path: Path):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    texts = []
    for color in (True, False):
        out = Terminal()
        with make_progress(5, tty=True, out=out, color=color) as progress:
            execute(enrolment(tmp_path, persons=1, faces=2), FakeBackend(), progress=progress,
                    checkpoint=lambda c, r: None, sleep=lambda s: None)  # fmt: skip
        texts.append(out.getvalue())
    coloured, plain = texts
    assert "\x1b[32m+" in coloured  # the symbol of a create, green
    assert "+ staff/p00: created" in plain and "\x1b[3" not in plain and "\x1b[9" not in plain


@pytest.mark.parametrize(
    ("n", "stopping", "quitting"),
    [
        (0, "Stopping (no call in flight).", "Quitting now."),
        (1, "Stopping after 1 call in flight... (Ctrl-C again to quit now)",
         "Quitting now, without waiting for 1 call in flight: run facesync apply again; "
         "it adopts whatever they made."),
        (3, "Stopping after 3 calls in flight... (Ctrl-C again to quit now)",
         "Quitting now, without waiting for 3 calls in flight: run facesync apply again; "
         "it adopts whatever they made."),
    ],
)
def test_what_ctrl_c_prints(n: int, stopping: str, quitting: str) -> None:
    assert stopping_line(n) == stopping
    assert quitting_line(n) == quitting


# --- Ctrl-C, pressed for real (SIGINT to this process) while calls are in flight -------


class GatedFaces(FakeBackend):
    """Every add-face waits at a gate until the test opens it; `waiting` counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self._seen = threading.Condition()
        self.waiting = 0

    def add_face(self, *args: Any, **kwargs: Any) -> str:
        with self._seen:
            self.waiting += 1
            self._seen.notify_all()
        self.gate.wait(timeout=60)
        return super().add_face(*args, **kwargs)

    def when_waiting(self, n: int, then: Any) -> threading.Thread:
        """Run `then` on another thread once `n` add-faces wait at the gate."""

        def watch() -> None:
            with self._seen:
                met = self._seen.wait_for(lambda: self.waiting >= n, timeout=60)
            if met:  # never a stray Ctrl-C into a later test
                then()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # Python raises KeyboardInterrupt in the main thread


class Watching:
    """A sink that remembers everything in order, and may act on a Ctrl-C."""

    def __init__(self, on_stopping: Any = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.done = 0
        self._on_stopping = on_stopping

    def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
        self.done += calls
        self.events.append((status, str(change.address)))

    def stopping(self, in_flight: int) -> None:
        self.events.append(("stopping", in_flight))
        if self._on_stopping is not None:
            self._on_stopping()

    def quitting(self, in_flight: int) -> None:
        self.events.append(("quitting", in_flight))


class Recorded:
    """A checkpoint that remembers what it recorded (any thread)."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self._mutex = threading.Lock()

    def __call__(self, change: Change, result: object) -> None:
        with self._mutex:
            self.addresses.append(str(change.address))


def test_the_first_ctrl_c_is_acknowledged_before_the_calls_in_flight_end(tmp_path: Path):
    fake = GatedFaces()
    the_plan = enrolment(tmp_path, persons=3, faces=2)  # 1 + 3 + 6 + 1 changes
    sink = Watching(on_stopping=fake.gate.set)  # the calls in flight end after the notice
    recorded = Recorded()
    fake.when_waiting(3, ctrl_c)
    with pytest.raises(Interrupted) as caught:
        execute(the_plan, fake, checkpoint=recorded, parallelism=3, progress=sink,
                sleep=lambda s: None)  # fmt: skip
    kinds = [kind for kind, _ in sink.events]
    assert sink.events[kinds.index("stopping")] == ("stopping", 3)
    after = sink.events[kinds.index("stopping") + 1 :]
    assert [kind for kind, _ in after] == ["succeeded"] * 3  # the three faces in flight
    assert not any(kind == "skipped" for kind in kinds)  # what never started is not "done"
    assert sink.done == 7 < 11  # the bar stays where the calls left it
    assert len(recorded.addresses) == 7 == len(fake.operations("create_group", "create_person",
                                                               "add_face"))  # fmt: skip
    assert caught.value.exit_code == 130
    report = caught.value.report  # type: ignore[attr-defined]
    assert len(report.succeeded) == 7 and len(report.skipped) == 4


class Quit(Exception):
    """What the test's stand-in for ending the process raises."""


def test_a_second_ctrl_c_quits_without_waiting_for_the_calls_in_flight(tmp_path: Path):
    fake = GatedFaces()
    the_plan = enrolment(tmp_path, persons=3, faces=2)
    sink = Watching(on_stopping=ctrl_c)
    recorded = Recorded()
    quit_calls: list[list[str]] = []

    def quit_now() -> None:
        quit_calls.append(sorted(recorded.addresses))
        raise Quit

    fake.when_waiting(3, ctrl_c)
    try:
        with pytest.raises(Quit):
            execute(the_plan, fake, checkpoint=recorded, parallelism=3, progress=sink,
                    sleep=lambda s: None, quit_now=quit_now)  # fmt: skip
    finally:
        fake.gate.set()  # let the abandoned calls end, as a real process would not
    assert sink.events[-2:] == [("stopping", 3), ("quitting", 3)]
    assert quit_calls == [["staff", "staff/p00", "staff/p01", "staff/p02"]]  # no face yet


def test_a_second_ctrl_c_waits_for_a_result_being_recorded_then_quits(tmp_path: Path):
    fake = GatedFaces()
    the_plan = enrolment(tmp_path, persons=1, faces=1)
    order: list[str] = []

    def checkpoint(change: Change, result: object) -> None:
        if str(change.address) == "staff/p00/p00-0.jpg":
            ctrl_c()  # the second Ctrl-C comes while this result is being written
            time.sleep(0.2)
            order.append("face recorded")

    def quit_now() -> None:
        order.append("quit")
        raise Quit

    sink = Watching(on_stopping=fake.gate.set)
    fake.when_waiting(1, ctrl_c)
    with pytest.raises(Quit):
        execute(the_plan, fake, checkpoint=checkpoint, parallelism=2, progress=sink,
                sleep=lambda s: None, quit_now=quit_now)  # fmt: skip
    assert order == ["face recorded", "quit"]
