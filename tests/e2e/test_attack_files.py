"""The real file behind a lock, and files that stay private, through the real CLI.

A lock reached through a symlink and through its target is one lock: one run
lock (a second apply by the other name is refused while the first runs), and
the writes go through the link to the target, which stays a link. Every file
facesync creates (lock, saved plan, `.facesync/`, the embedded emulator's data)
is the owner's alone whatever the umask; a lock the user keeps 0644 keeps its
mode and gets one warning.

The first apply is frozen with SIGSTOP at a known point, never raced against
the clock.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from facesync.workspace import results_log_segments

from .conftest import KEY, Project, Result, Server, _base_env, people

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, signals, symlinks")

LATENCY_MS = 150  # every request: an apply of three photos takes a few seconds
WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emu = start_emulator(
        EmulatorConfig(
            data_dir=tmp_path_factory.mktemp("attack-files-emulator"),
            key=KEY, port=0, latency_ms=LATENCY_MS,
        )
    )  # fmt: skip
    yield emu
    emu.stop()


def _gallery(root: Path, env: dict[str, str], server: Server | None, small_faces: Path) -> Project:
    """One person with three photos in a fresh group."""
    root.mkdir()
    project = Project(root, env, server)  # type: ignore[arg-type]
    photos = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[:3]]
    project.gid = "files-" + uuid.uuid4().hex[:10]  # type: ignore[attr-defined]
    project.write_manifest(
        {project.gid: {"name": "Files", "persons": {"biden": {"faces": photos}}}}  # type: ignore[attr-defined]
    )
    return project


@pytest.fixture
def linked(tmp_path: Path, slow_emulator: RunningEmulator, small_faces: Path) -> Project:
    """A gallery whose lock `facesync.lock.json` is a symlink to `store/real.lock.json`."""
    env = {**_base_env(), "FACESYNC_ENDPOINT": slow_emulator.url, "FACESYNC_KEY": KEY}
    project = _gallery(tmp_path / "project", env, Server(slow_emulator), small_faces)
    (project.root / "store").mkdir()
    project.lock.symlink_to(Path("store") / "real.lock.json")
    return project


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """CLI runs in the background; whatever is left is killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(project: Project, *args: str, umask: int = 0o022) -> subprocess.Popen:
        n = len(procs)
        err = tmp_path / f"bg{n}.err"
        proc = subprocess.Popen(
            _with_umask(umask, args), cwd=project.root, env=project.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err.open("w"),
        )  # fmt: skip
        proc.err_path = err  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait()


def _with_umask(umask: int, args: tuple[str, ...]) -> list[str]:
    """`facesync ARGS` run under `umask` (set by the shell, not in this threaded process)."""
    return ["/bin/sh", "-c", f'umask {umask:03o}; exec "$0" -m facesync "$@"', sys.executable,
            *args]


def _cli(project: Project, *args: str, umask: int = 0o022) -> Result:
    proc = subprocess.run(
        _with_umask(umask, args), cwd=project.root, env=project.env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _logged(project: Project) -> bool:
    """The apply has recorded a result and written an intent (it holds the run lock)."""
    local = project.lock.resolve().parent / ".facesync"
    journal = local / f"journal-{project.lock.resolve().name}.jsonl"
    results = [p for _, p in results_log_segments(project.lock)]
    return journal.exists() and any(p.exists() and p.stat().st_size for p in results)


def _wait_for_a_logged_result(project: Project, proc: subprocess.Popen) -> None:
    """Poll until the apply is midway (never a timing assertion)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not _logged(project):
        if proc.poll() is not None:
            pytest.fail(f"the apply ended early: {proc.err_path.read_text()}")  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the first recorded result")
        time.sleep(0.02)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _shared(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` that group or others may use, with its mode."""
    found = {}
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink() and _mode(path) & 0o077:
            found[str(path.relative_to(folder.parent))] = f"{_mode(path):04o}"
    return found


def test_a_symlinked_lock_and_its_target_share_one_run_lock_and_the_link_survives(
    linked: Project, background: Callable[..., subprocess.Popen]
) -> None:
    first = background(linked, "apply", "--yes")  # through the link
    _wait_for_a_logged_result(linked, first)
    first.send_signal(signal.SIGSTOP)  # mid-apply, holding the run lock
    try:
        local = linked.root / "store" / ".facesync"  # run lock, note, journal, results log
        assert {p.name.split("-")[0] for p in local.iterdir()} >= {"run", "journal", "results"}
        assert _shared(local) == {}
        second = _cli(linked, "--lock", "store/real.lock.json", "apply", "--yes")
        assert second.code == 1, second.err
        assert "is in use by facesync apply (pid" in second.err
        assert second.err.count("\n") == 1 and "Traceback" not in second.err
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.err_path.read_text()  # type: ignore[attr-defined]

    target = linked.root / "store" / "real.lock.json"
    assert linked.lock.is_symlink()  # written through, never replaced by a copy
    assert os.readlink(linked.lock) == os.path.join("store", "real.lock.json")
    assert linked.lock_json()["serial"] > 0
    persons = linked.server.persons(linked.gid)  # type: ignore[attr-defined]
    assert len(persons) == 1 and len(persons[0]["persistedFaceIds"]) == 3  # no duplicates
    for lock in ("facesync.lock.json", "store/real.lock.json"):
        assert _cli(linked, "--lock", lock, "plan", "--detailed-exitcode").code == 0
    beside_link = linked.root / ".facesync"  # the manifest's hash cache only
    assert not [p.name for p in beside_link.iterdir() if "facesync.lock.json" in p.name]
    assert (target.parent / ".facesync" / "checked-real.lock.json").is_file()


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_every_file_facesync_creates_is_the_owners_alone(
    tmp_path: Path, small_faces: Path, umask: int
) -> None:
    project = _gallery(tmp_path / "project", _base_env(), None, small_faces)  # embedded
    saved = _cli(project, "plan", "-o", "saved.plan.json", umask=umask)
    assert saved.code == 0, saved.err
    applied = _cli(project, "apply", "--yes", umask=umask)
    assert applied.code == 0, applied.err
    assert "Apply complete!" in applied.out

    local = project.root / ".facesync"
    assert (local / "emulator" / "emulator.sqlite3").is_file()
    assert list((local / "emulator").rglob("*.f32")), "a trained snapshot file"
    assert _mode(project.lock) == 0o600
    assert _mode(project.root / "saved.plan.json") == 0o600
    assert _shared(local) == {}
    assert "warning" not in applied.err


def test_a_lock_kept_0644_keeps_its_mode_and_is_warned_about_once(
    tmp_path: Path, slow_emulator: RunningEmulator, small_faces: Path
) -> None:
    env = {**_base_env(), "FACESYNC_ENDPOINT": slow_emulator.url, "FACESYNC_KEY": KEY}
    project = _gallery(tmp_path / "project", env, Server(slow_emulator), small_faces)
    assert _cli(project, "apply", "--yes").code == 0
    project.lock.chmod(0o644)  # shared in Git on purpose: the user's choice
    more = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:2]]
    project.write_manifest({project.gid: {"name": "Files", "persons": {  # type: ignore[attr-defined]
        "biden": {"faces": [f"faces/biden/{p.name}"
                            for p in people(small_faces, "joe_biden")[:3]]},
        "obama": {"faces": more},
    }}})  # fmt: skip

    result = _cli(project, "apply", "--yes")
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "chmod 600" in line]
    assert len(warnings) == 1, result.err  # once per run, though the lock is written again
    assert "facesync.lock.json" in warnings[0] and "other users" in warnings[0]
    assert _mode(project.lock) == 0o644
    assert project.lock_json()["serial"] > 1


def test_a_hard_linked_lock_is_refused_not_forked(project: Project, small_faces: Path) -> None:
    """An atomic replace would give one name the new lock and leave the other on
    the old one, with a run lock of its own: refused in one line instead."""
    photo = project.add_photo("biden", people(small_faces, "joe_biden")[0])
    gid = "hl-" + uuid.uuid4().hex[:10]
    project.write_manifest({gid: {"name": "G", "persons": {"biden": {"faces": [photo]}}}})
    assert project.cli("apply", "--yes").code == 0
    os.link(project.lock, project.root / "alt.lock.json")
    before = project.lock.read_bytes()
    for args in (("apply", "--yes", "--lock", "alt.lock.json"), ("apply", "--yes")):
        result = project.cli(*args)
        assert result.code == 1, result.out + result.err
        assert result.err.count("\n") == 1 and "has 2 hard links" in result.err, result.err
    assert project.lock.read_bytes() == before
    assert os.stat(project.lock).st_ino == os.stat(project.root / "alt.lock.json").st_ino
