"""One apply at a time, through the real CLI against a slow emulator: a second
apply fails at once naming the holder, a killed apply's lock is taken over,
force-unlock clears what a dead run left, and plan is never blocked.

The first apply is frozen with SIGSTOP at a known point (its lock written
once) instead of racing it against the clock.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from facesync.state.run_lock import read_holder, run_lock_paths
from facesync.workspace import results_log_segments

from .conftest import KEY, Project, Server, _base_env, people

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")

LATENCY_MS = 150  # every request: an apply takes a few seconds


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emu = start_emulator(
        EmulatorConfig(
            data_dir=tmp_path_factory.mktemp("slow-emulator"),
            key=KEY,
            port=0,
            latency_ms=LATENCY_MS,
        )
    )
    yield emu
    emu.stop()


@pytest.fixture
def gallery(tmp_path: Path, slow_emulator: RunningEmulator, small_faces: Path) -> Project:
    """One person with three photos, against the slow emulator."""
    root = tmp_path / "project"
    root.mkdir()
    env = {**_base_env(), "FACESYNC_ENDPOINT": slow_emulator.url, "FACESYNC_KEY": KEY}
    project = Project(root, env, Server(slow_emulator))
    photos = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[:3]]
    project.gid = "lock-" + uuid.uuid4().hex[:10]  # type: ignore[attr-defined]
    gid = project.gid  # type: ignore[attr-defined]
    assert len(photos) == 3
    project.write_manifest({gid: {"name": "Run lock", "persons": {"biden": {"faces": photos}}}})
    return project


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start CLI runs in the background; whatever is left is killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(project: Project, *args: str) -> subprocess.Popen:
        n = len(procs)
        proc = subprocess.Popen(
            [sys.executable, "-m", "facesync", *args],
            cwd=project.root,
            env=project.env,
            stdin=subprocess.DEVNULL,
            stdout=(tmp_path / f"bg{n}.out").open("w"),
            stderr=(tmp_path / f"bg{n}.err").open("w"),
        )
        proc.out_path = tmp_path / f"bg{n}.out"  # type: ignore[attr-defined]
        proc.err_path = tmp_path / f"bg{n}.err"  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait()


def _note(project: Project) -> Path:
    return run_lock_paths(project.lock)[1]


def _wait_until(done: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    """Poll for a state the running apply reaches (never a timing assertion)."""
    deadline = time.monotonic() + 120
    while not done():
        if proc.poll() is not None:
            pytest.fail(
                f"the apply ended (exit {proc.returncode}) before {what}: "
                + proc.err_path.read_text()
            )  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _lock_serial(project: Project) -> int:
    try:
        return int(project.lock_json()["serial"])
    except (OSError, ValueError, KeyError):
        return 0


def _results_logged(project: Project) -> int:
    """Results the apply has recorded so far (in its results log, before a fold)."""
    return sum(
        len(path.read_bytes().splitlines())
        for _, path in results_log_segments(project.lock)
        if path.exists()
    )


def test_a_second_apply_fails_at_once_naming_the_holder_and_never_interleaves(
    gallery: Project, background: Callable[..., subprocess.Popen]
) -> None:
    first = background(gallery, "apply", "--yes")
    _wait_until(lambda: _results_logged(gallery) >= 1, first, "the first recorded result")
    first.send_signal(signal.SIGSTOP)  # mid-apply, holding the run lock
    try:
        frozen = gallery.lock.read_bytes() if gallery.lock.exists() else b'{"serial": 0}'
        second = gallery.cli("apply", "--yes")
        assert second.code == 1
        assert second.err.count("\n") == 1 and "Traceback" not in second.err
        assert f"facesync apply (pid {first.pid} on host {socket.gethostname()}, started " in (
            second.err
        )
        assert "force-unlock" in second.err

        refused = gallery.cli("force-unlock")
        assert refused.code == 1
        assert f"kill {first.pid}" in refused.err

        plan = gallery.cli("plan")  # not blocked: plan only reads the lock
        assert plan.code == 0, plan.err
        assert "to add" in plan.out
        after = gallery.lock.read_bytes() if gallery.lock.exists() else b'{"serial": 0}'
        assert after == frozen  # nobody else wrote the lock
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.err_path.read_text()  # type: ignore[attr-defined]
    assert "Apply complete!" in first.out_path.read_text()  # type: ignore[attr-defined]
    assert _lock_serial(gallery) > json.loads(frozen)["serial"]
    persons = gallery.server.persons(gallery.gid)  # type: ignore[attr-defined]
    assert len(persons) == 1 and len(persons[0]["persistedFaceIds"]) == 3
    assert gallery.cli("plan", "--detailed-exitcode").code == 0
    assert not _note(gallery).exists()


def test_the_run_lock_of_a_killed_apply_is_taken_over_by_the_next(
    gallery: Project, background: Callable[..., subprocess.Popen]
) -> None:
    killed = background(gallery, "apply", "--yes")
    _wait_until(_note(gallery).exists, killed, "the holder note")
    killed.kill()
    killed.wait()
    assert read_holder(_note(gallery)).pid == killed.pid  # type: ignore[union-attr]  # left behind

    result = gallery.cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "in use" not in result.err
    assert not _note(gallery).exists()
    assert gallery.cli("plan", "--detailed-exitcode").code == 0


def test_force_unlock_removes_the_note_a_killed_apply_left_and_says_so(
    gallery: Project, background: Callable[..., subprocess.Popen]
) -> None:
    killed = background(gallery, "apply", "--yes")
    _wait_until(_note(gallery).exists, killed, "the holder note")
    killed.kill()
    killed.wait()

    result = gallery.cli("force-unlock")
    assert result.code == 0, result.err
    assert "Removed the stale run lock note of facesync.lock.json" in result.out
    assert f"pid {killed.pid}" in result.out and "no longer running" in result.out
    assert not _note(gallery).exists()
    again = gallery.cli("force-unlock")
    assert again.code == 0 and "is not locked" in again.out


def test_an_interrupted_apply_removes_its_holder_note(
    gallery: Project, background: Callable[..., subprocess.Popen]
) -> None:
    interrupted = background(gallery, "apply", "--yes")
    _wait_until(_note(gallery).exists, interrupted, "the holder note")
    interrupted.send_signal(signal.SIGINT)
    assert interrupted.wait(timeout=120) == 130
    assert not _note(gallery).exists()
