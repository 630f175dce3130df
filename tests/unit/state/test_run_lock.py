"""One apply at a time: the run lock, its holder note and force-unlock.

Holders run in child processes, since the OS lock is per open file and the
kernel releases it when its process dies.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from facesync.errors import LockHeldError
from facesync.state.run_lock import (
    Holder,
    force_unlock,
    hold_run_lock,
    process_alive,
    read_holder,
    run_lock_paths,
)

REPO = Path(__file__).resolve().parents[3]

# A facesync run that holds the lock until its stdin closes.
_HOLD = """
import sys
from pathlib import Path
from facesync.state.run_lock import hold_run_lock
with hold_run_lock(Path(sys.argv[1]), "apply"):
    print("held", flush=True)
    sys.stdin.read()
"""
# A process that holds the OS lock but writes no note (a holder that has just won it).
_RAW = """
import sys
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""

Spawn = Callable[[str, Path], subprocess.Popen]


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "facesync.lock.json"


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    procs: list[subprocess.Popen] = []

    def start(code: str, path: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_note(path: Path, **fields: object) -> None:
    note = {
        "pid": _dead_pid(),
        "host": socket.gethostname(),
        "started": "2020-01-01T00:00:00+00:00",
    }
    note.update(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(note))


def test_a_second_run_fails_at_once_naming_the_holder(lock_path: Path, spawn: Spawn) -> None:
    holder = spawn(_HOLD, lock_path)
    with pytest.raises(LockHeldError) as caught, hold_run_lock(lock_path, "apply"):
        pass
    message = caught.value.message
    assert f"pid {holder.pid} on host {socket.gethostname()}" in message
    assert "started 20" in message and "force-unlock" in message


def test_the_holder_note_names_this_run_and_is_removed_after_it(lock_path: Path) -> None:
    _, note = run_lock_paths(lock_path)
    with hold_run_lock(lock_path, "destroy") as me:
        assert read_holder(note) == me
        assert me.pid == os.getpid() and me.command == "destroy"
    assert not note.exists()


def test_the_holder_note_is_removed_when_the_run_fails(lock_path: Path) -> None:
    _, note = run_lock_paths(lock_path)
    with pytest.raises(RuntimeError), hold_run_lock(lock_path, "apply"):
        raise RuntimeError("boom")
    assert not note.exists()
    with hold_run_lock(lock_path, "apply"):
        pass


def test_the_lock_of_a_killed_run_is_taken_over_by_the_next(lock_path: Path, spawn: Spawn) -> None:
    holder = spawn(_HOLD, lock_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    _, note = run_lock_paths(lock_path)
    assert read_holder(note).pid == holder.pid  # type: ignore[union-attr]  # left behind
    with hold_run_lock(lock_path, "apply") as me:
        assert read_holder(note) == me
    assert not note.exists()


def test_a_note_left_by_a_dead_process_is_never_named_as_the_holder(
    lock_path: Path, spawn: Spawn
) -> None:
    os_lock, note = run_lock_paths(lock_path)
    dead = _dead_pid()
    _write_note(note, pid=dead)
    spawn(_RAW, os_lock)
    with pytest.raises(LockHeldError) as caught, hold_run_lock(lock_path, "apply"):
        pass
    assert "another facesync process" in caught.value.message
    assert f"pid {dead}" not in caught.value.message


def test_force_unlock_of_an_unlocked_file_does_nothing(lock_path: Path) -> None:
    assert force_unlock(lock_path).outcome == "free"
    with hold_run_lock(lock_path, "apply"):
        pass
    assert force_unlock(lock_path).outcome == "free"


def test_force_unlock_removes_the_stale_note_of_a_killed_run(lock_path: Path, spawn: Spawn) -> None:
    holder = spawn(_HOLD, lock_path)
    holder.kill()
    holder.wait()
    _, note = run_lock_paths(lock_path)
    result = force_unlock(lock_path)
    assert result.outcome == "stale" and result.holder is not None
    assert result.holder.pid == holder.pid
    assert not note.exists()


def test_force_unlock_refuses_to_break_a_holder_that_still_runs_here(
    lock_path: Path, spawn: Spawn
) -> None:
    holder = spawn(_HOLD, lock_path)
    os_lock, note = run_lock_paths(lock_path)
    with pytest.raises(LockHeldError) as caught:
        force_unlock(lock_path)
    assert f"kill {holder.pid}" in caught.value.message
    assert os_lock.exists() and read_holder(note).pid == holder.pid  # type: ignore[union-attr]


def test_force_unlock_breaks_a_lock_held_for_another_host(lock_path: Path, spawn: Spawn) -> None:
    os_lock, note = run_lock_paths(lock_path)
    spawn(_RAW, os_lock)  # still holds the old lock file
    _write_note(note, pid=4242, host="build-agent-7")
    result = force_unlock(lock_path)
    assert result.outcome == "broken"
    assert result.holder == Holder(4242, "build-agent-7", "2020-01-01T00:00:00+00:00", "apply")
    with hold_run_lock(lock_path, "apply"):
        pass


def test_force_unlock_breaks_a_lock_whose_noted_holder_is_gone(
    lock_path: Path, spawn: Spawn
) -> None:
    os_lock, note = run_lock_paths(lock_path)
    spawn(_RAW, os_lock)  # e.g. a child that inherited the lock of a killed run
    _write_note(note)
    assert force_unlock(lock_path).outcome == "broken"
    with hold_run_lock(lock_path, "apply"):
        pass


def test_a_run_whose_lock_was_broken_leaves_the_new_holders_note(lock_path: Path) -> None:
    _, note = run_lock_paths(lock_path)
    with hold_run_lock(lock_path, "apply"):
        _write_note(note, pid=4242, host="build-agent-7")  # as a newcomer after a break would
    assert read_holder(note) is not None


def test_a_process_is_alive_until_it_is_gone_or_a_zombie() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        assert not process_alive(zombie.pid)
    finally:
        zombie.wait()


def test_an_unreadable_note_names_nobody(tmp_path: Path) -> None:
    note = tmp_path / "note.json"
    for text in ("", "{", "[]", '{"pid": "x", "host": "h", "started": "t"}', '{"pid": 1}'):
        note.write_text(text)
        assert read_holder(note) is None
