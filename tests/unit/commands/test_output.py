"""--quiet and --no-color (and NO_COLOR) as every command's output obeys them."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from facesync.commands import common
from facesync.commands.options import GlobalOptions


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def fresh_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
    common.set_output(GlobalOptions())


def test_quiet_drops_notes_and_keeps_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    common.set_output(GlobalOptions(quiet=True))
    common.say("No endpoint set: using the embedded Face API emulator (data in .facesync).")
    common.say("Recorded the results an interrupted apply had logged in facesync.lock.json.")
    common.say("warning: facesync.lock.json can be read by other users of this machine")
    common.say("Warning: the manifest cannot be read (...); destroying the targets ...")
    assert capsys.readouterr().err.splitlines() == [
        "warning: facesync.lock.json can be read by other users of this machine",
        "Warning: the manifest cannot be read (...); destroying the targets ...",
    ]


def test_without_quiet_every_note_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    common.say("No endpoint set: using the embedded Face API emulator.")
    assert capsys.readouterr().err == "No endpoint set: using the embedded Face API emulator.\n"


def test_colour_only_on_a_terminal_and_never_when_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert common.use_color(_Terminal())
    assert not common.use_color(io.StringIO())  # a pipe, a file, a CI log
    monkeypatch.setenv("NO_COLOR", "1")
    assert not common.use_color(_Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value counts
    assert common.use_color(_Terminal())
    common.set_output(GlobalOptions(no_color=True))
    assert not common.use_color(_Terminal())
