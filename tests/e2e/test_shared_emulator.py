"""One emulator per data folder, found by every command: `plan`, `show` and
`identify` work while another process (an apply, `facesync serve`) owns the
embedded default's data, and a gallery moves between the embedded default and
`facesync serve` on the same data without re-creating anything."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from facesync.emulator.server import EmulatorConfig, start_emulator

from .conftest import Project, people

_START = re.compile(r"on (http://127\.0\.0\.1:\d+)/face/v1\.0 — key: (\S+)")


def _enrol(project: Project, small_faces: Path, group_id: str = "team") -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({group_id: {"name": "Team", "persons": {"harris": {"faces": [photo]}}}})


@contextmanager
def _serve(project: Project, *args: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """`facesync serve` in the project's folder (its default data folder), stopped after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "facesync", "serve", "--port", "0", "--tier", "unlimited",
         "--workers", "0", *args],
        cwd=project.root, env=project.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        found = _START.search(line)
        assert found, line + proc.stderr.read()  # type: ignore[union-attr]
        yield proc, found.group(1), found.group(2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_plan_show_and_identify_work_while_another_process_owns_the_emulator(
    embedded_project: Project, small_faces: Path
) -> None:
    project = embedded_project
    _enrol(project, small_faces)
    assert project.cli("apply", "--yes").code == 0
    # Another process now holds the data folder, as a running apply does.
    data = project.root / ".facesync" / "emulator"
    held = start_emulator(EmulatorConfig(data_dir=data, port=0, warm_up=False))
    try:
        plan = project.cli("plan", "--detailed-exitcode")
        assert plan.code == 0, plan.err
        assert "already running" in plan.err and "Another emulator" not in plan.err
        shown = project.cli("show")
        assert shown.code == 0, shown.err
        named = project.cli("identify", str(people(small_faces, "kamala_harris")[1]))
        assert named.code == 0, named.err
        assert "harris" in named.out
    finally:
        held.stop()
    assert not (data / "server.json").exists()  # the owner says so only while it runs
    assert project.cli("plan", "--detailed-exitcode").code == 0  # and its own emulator again


def test_a_note_left_by_a_killed_emulator_is_not_trusted(
    embedded_project: Project, small_faces: Path
) -> None:
    project = embedded_project
    _enrol(project, small_faces)
    data = project.root / ".facesync" / "emulator"
    data.mkdir(parents=True)
    (data / "server.json").write_text('{"url": "http://127.0.0.1:9", "key": "k", "pid": 1}')
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "embedded Face API emulator" in result.err


def test_a_gallery_moves_between_serve_and_the_embedded_default_without_changes(
    embedded_project: Project, small_faces: Path
) -> None:
    project = embedded_project
    _enrol(project, small_faces)
    with _serve(project) as (proc, _url, _key):
        applied = project.cli("apply", "--yes")  # no endpoint: the running serve is used
        assert applied.code == 0, applied.err
        assert "already running" in applied.err
    log = proc.stderr.read()  # type: ignore[union-attr]
    assert re.search(r"^POST /face/v1\.0/persongroups/team/persons 200 \d+ ms$", log, re.M), log
    assert project.lock_json()["endpoint"] == "embedded"
    again = project.cli("plan", "--detailed-exitcode")  # the embedded default, same data
    assert again.code == 0, again.out + again.err
    assert "embedded Face API emulator" in again.err


def test_serve_keeps_its_key_with_its_data(embedded_project: Project) -> None:
    project = embedded_project
    with _serve(project) as (_proc, _url, first):
        pass
    with _serve(project) as (_proc, url, second):
        pass
    assert first == second
    kept = project.root / ".facesync" / "emulator" / "key"
    assert kept.read_text().strip() == first
    assert kept.stat().st_mode & 0o777 == 0o600
    with _serve(project, "--key", "given-key-1") as (_proc, _url, shown):
        assert shown == "<the"  # a key the user gave is never printed
    assert kept.read_text().strip() == first  # a key given for one run is not kept


def test_serve_on_the_embedded_data_keeps_the_embedded_identity_through_its_url(
    embedded_project: Project, small_faces: Path
) -> None:
    """FACESYNC_ENDPOINT set to `facesync serve`'s URL, as its start line says: the
    lock still records the embedded default's store, so the embedded default and
    serve take turns on one gallery without --rebind or re-creating anything."""
    from facesync.emulator.server import SERVER_NOTE
    from facesync.workspace import EMULATOR_NOTE

    assert SERVER_NOTE == EMULATOR_NOTE
    project = embedded_project
    _enrol(project, small_faces)
    with _serve(project) as (_proc, url, key):
        env = {"FACESYNC_ENDPOINT": url, "FACESYNC_KEY": key, "FACESYNC_TIER": "unlimited"}
        applied = project.cli("apply", "--yes", env=env)
        assert applied.code == 0, applied.err
        assert project.lock_json()["endpoint"] == "embedded"
    again = project.cli("plan", "--detailed-exitcode")  # the embedded default, same store
    assert again.code == 0, again.out + again.err
    with _serve(project) as (_proc, url, key):  # and back, on the URL again
        env = {"FACESYNC_ENDPOINT": url, "FACESYNC_KEY": key}
        back = project.cli("plan", "--detailed-exitcode", env=env)
        assert back.code == 0, back.out + back.err


def test_another_emulator_at_a_url_is_another_endpoint(
    project: Project, small_faces: Path, gid: str
) -> None:
    _enrol(project, small_faces, gid)
    assert project.cli("apply", "--yes").code == 0
    assert project.lock_json()["endpoint"].startswith("http://127.0.0.1:")
