"""What apply prints: plain lines off a terminal, a live bar on one."""

from __future__ import annotations

import io
from pathlib import Path

from facesync.commands.progress import make_progress
from facesync.engine.executor import execute
from facesync.errors import ApiError
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
