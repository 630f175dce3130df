"""The atomic writer keeps files private and writes through symlinks; the
`.facesync/` companions of a lock belong to the real file behind it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from facesync.atomic import write_atomically
from facesync.private_files import creation_mode, current_umask, loose_mode_warning
from facesync.workspace import (
    ensure_local_dir,
    journal_path,
    lock_check_path,
    results_log_path,
    results_log_segments,
    run_lock_paths,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes and symlinks")


@pytest.fixture
def umask() -> Iterator[object]:
    """Set the umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_umask_is_read_without_changing_it(umask) -> None:
    umask(0o027)
    assert current_umask() == 0o027
    assert current_umask() == 0o027
    assert creation_mode(0o600) == 0o600 and creation_mode(0o644) == 0o640


def test_a_new_file_is_the_owners_alone_under_the_usual_umask(tmp_path: Path, umask) -> None:
    umask(0o022)
    path = tmp_path / "plan.json"
    write_atomically(path, b"{}\n")
    assert _mode(path) == 0o600
    assert path.read_bytes() == b"{}\n"


def test_a_stricter_umask_wins(tmp_path: Path, umask) -> None:
    umask(0o277)
    path = tmp_path / "plan.json"
    write_atomically(path, b"{}\n")
    assert _mode(path) == 0o400


def test_an_existing_loose_file_keeps_its_mode_and_is_warned_about_once(tmp_path: Path) -> None:
    path = tmp_path / "team.lock.json"
    path.write_bytes(b"old")
    path.chmod(0o644)
    told: list[str] = []
    write_atomically(path, b"new", warn=told.append)
    write_atomically(path, b"newer", warn=told.append)
    assert _mode(path) == 0o644 and path.read_bytes() == b"newer"
    assert told == [
        f"warning: {path} can be read by other users of this machine (mode 0644); "
        f"run `chmod 600 {path}` unless you share it on purpose"
    ]


def test_an_existing_private_file_is_not_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "team.lock.json"
    path.write_bytes(b"old")
    path.chmod(0o600)
    told: list[str] = []
    write_atomically(path, b"new", warn=told.append)
    assert told == [] and _mode(path) == 0o600
    assert loose_mode_warning(path, 0o100600) is None
    assert loose_mode_warning(path, 0o100604) is not None


def test_a_symlink_is_written_through_to_its_target_and_stays_a_link(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = store / "real.lock.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    middle = tmp_path / "middle.lock.json"
    middle.symlink_to(Path("store") / "real.lock.json")
    link = tmp_path / "team.lock.json"
    link.symlink_to("middle.lock.json")  # a chain is followed to its end
    write_atomically(link, b"new", warn=lambda _line: None)
    assert link.is_symlink() and os.readlink(link) == "middle.lock.json"
    assert middle.is_symlink()
    assert target.read_bytes() == b"new" and _mode(target) == 0o640
    assert sorted(p.name for p in store.iterdir()) == ["real.lock.json"]  # no temp file left


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path, umask) -> None:
    umask(0o022)
    (tmp_path / "store").mkdir()
    link = tmp_path / "team.lock.json"
    link.symlink_to(Path("store") / "real.lock.json")
    write_atomically(link, b"first")
    assert link.is_symlink() and (tmp_path / "store" / "real.lock.json").read_bytes() == b"first"
    assert _mode(tmp_path / "store" / "real.lock.json") == 0o600


def test_a_symlink_loop_is_an_os_error_and_writes_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.lock.json", tmp_path / "b.lock.json"
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    with pytest.raises(OSError):
        write_atomically(a, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lock.json", "b.lock.json"]


def test_a_symlinked_lock_and_its_target_share_every_companion(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = store / "real.lock.json"
    link = tmp_path / "team.lock.json"
    link.symlink_to(Path("store") / "real.lock.json")
    assert run_lock_paths(link) == run_lock_paths(target)
    assert journal_path(link) == journal_path(target)
    assert lock_check_path(link) == lock_check_path(target)
    assert results_log_path(link, 3) == results_log_path(target, 3)
    assert journal_path(link).parent == store.resolve() / ".facesync"
    results_log_path(target, 3).write_text("{}\n")
    assert results_log_segments(link) == results_log_segments(target) != []


def test_a_lock_in_a_symlink_loop_still_has_companion_paths(tmp_path: Path) -> None:
    a = tmp_path / "a.lock.json"
    a.symlink_to(a.name)
    assert run_lock_paths(a)[0].parent == tmp_path / ".facesync"


def test_the_local_folder_is_created_0700_with_a_private_gitignore(
    tmp_path: Path, umask
) -> None:
    umask(0o022)
    local = ensure_local_dir(tmp_path)
    assert _mode(local) == 0o700
    assert _mode(local / ".gitignore") == 0o600
    assert (local / ".gitignore").read_text().endswith("*\n")


def test_facesync_s_own_notes_are_made_private_again_without_a_warning(
    tmp_path: Path, umask
) -> None:
    umask(0o022)
    note = tmp_path / "checked-team.lock.json"
    note.write_bytes(b"old")
    note.chmod(0o644)  # left by an older facesync
    told: list[str] = []
    write_atomically(note, b"new", warn=told.append, keep_mode=False)
    assert _mode(note) == 0o600 and told == []
