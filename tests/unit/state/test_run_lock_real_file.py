"""The run lock belongs to the real lock file: a symlink and its target share it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from facesync.errors import LockHeldError
from facesync.state.run_lock import hold_run_lock, run_lock_paths

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes and symlinks")


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """(`team.lock.json`, the file it links to in `store/`)."""
    (tmp_path / "store").mkdir()
    link = tmp_path / "team.lock.json"
    link.symlink_to(Path("store") / "real.lock.json")
    return link, tmp_path / "store" / "real.lock.json"


def test_a_run_through_the_link_holds_the_target_s_run_lock(linked: tuple[Path, Path]) -> None:
    link, target = linked
    # flock is per open file: a second take, even in this process, is refused.
    with (
        hold_run_lock(link, "apply"),
        pytest.raises(LockHeldError) as caught,
        hold_run_lock(target, "apply"),
    ):
        pass
    assert f"pid {os.getpid()}" in caught.value.message


def test_a_run_through_the_target_holds_the_link_s_run_lock(linked: tuple[Path, Path]) -> None:
    link, target = linked
    with (
        hold_run_lock(target, "destroy"),
        pytest.raises(LockHeldError),
        hold_run_lock(link, "apply"),
    ):
        pass


def test_the_run_lock_files_are_the_owners_alone(linked: tuple[Path, Path]) -> None:
    link, _ = linked
    old = os.umask(0o022)
    try:
        os_lock, note = run_lock_paths(link)
        with hold_run_lock(link, "apply"):
            assert stat.S_IMODE(note.stat().st_mode) == 0o600
            assert stat.S_IMODE(os_lock.stat().st_mode) == 0o600
            assert stat.S_IMODE(note.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_a_loose_holder_note_an_older_run_left_is_made_private(
    linked: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    link, _ = linked
    _, note = run_lock_paths(link)
    note.parent.mkdir(parents=True)
    note.write_text("{}")
    note.chmod(0o644)
    with hold_run_lock(link, "apply"):
        assert stat.S_IMODE(note.stat().st_mode) & 0o077 == 0
    assert capfd.readouterr().err == ""
