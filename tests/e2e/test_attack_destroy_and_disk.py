"""Destroy works from the lock alone, and a full disk is one line that names
the file and the fix, through the real CLI against the emulator over HTTP."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lock_reading import read_lock_json

from .conftest import Project, people


@pytest.fixture
def enrolled(project: Project, small_faces: Path, gid: str) -> Project:
    """Obama (2 photos) and Biden (1 photo) applied to one group."""
    obama = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:2]]
    biden = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[:1]]
    project.write_manifest({gid: {"name": "Leaders", "persons": {
        "obama": {"name": "Barack Obama", "faces": obama},
        "biden": {"name": "Joe Biden", "faces": biden},
    }}})
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    project.gid = gid  # type: ignore[attr-defined]
    return project


def test_destroy_needs_no_photos(enrolled: Project) -> None:
    gid = enrolled.gid  # type: ignore[attr-defined]
    shutil.rmtree(enrolled.root / "faces")
    result = enrolled.cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert enrolled.server.group(gid).status_code == 404
    assert enrolled.lock_json()["groups"] == {}


def test_destroy_needs_no_manifest(enrolled: Project) -> None:
    gid = enrolled.gid  # type: ignore[attr-defined]
    enrolled.manifest.unlink()
    result = enrolled.cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert enrolled.server.group(gid).status_code == 404
    assert enrolled.lock_json()["groups"] == {}


def test_targeted_destroy_with_a_photo_gone_deletes_only_the_target(enrolled: Project) -> None:
    gid = enrolled.gid  # type: ignore[attr-defined]
    biden_id = enrolled.lock_json()["groups"][gid]["persons"]["biden"]["personId"]
    shutil.rmtree(enrolled.root / "faces" / "obama")  # the manifest no longer loads
    result = enrolled.cli("destroy", "--yes", "--target", f"{gid}/biden")
    assert result.code == 0, result.err
    assert "destroying the targets from the lock alone" in result.err
    persons = enrolled.lock_json()["groups"][gid]["persons"]
    assert list(persons) == ["obama"], result.out + result.err
    left = {p["personId"] for p in enrolled.server.persons(gid)}
    assert persons["obama"]["personId"] in left and biden_id not in left


def _can_mount_a_small_disk() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt || "
         "mount -t tmpfs -o size=64k tmpfs /tmp"],
        capture_output=True, timeout=30, check=False,
    )
    return probe.returncode == 0


def test_a_full_disk_is_one_line_naming_the_file_and_the_fix(
    enrolled: Project, small_faces: Path, tmp_path: Path
) -> None:
    """The project is copied onto a small tmpfs (in a private mount namespace)
    that is then filled; apply must fail with one line, and keep the lock."""
    if not _can_mount_a_small_disk():
        pytest.fail("this test needs `unshare -rm` (user and mount namespaces) to make a full disk")
    gid = enrolled.gid  # type: ignore[attr-defined]
    extra = enrolled.add_photo("obama", people(small_faces, "barack_obama")[2])
    before = enrolled.lock_json()
    enrolled.write_manifest({gid: {"name": "Leaders", "persons": {
        "obama": {"name": "Barack Obama", "faces": ["faces/obama/*.jpg"]},
        "biden": {"name": "Joe Biden", "faces": ["faces/biden/*.jpg"]},
    }}})
    assert extra
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "facesync", "apply", "--yes"])
    script = (
        f"mount -t tmpfs -o size=4m tmpfs {disk} && cp -a {enrolled.root}/. {disk}/ && "
        f"(dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null; true) && cd {disk} && "
        f"{cli} >{out}/stdout 2>{out}/stderr; echo $? >{out}/rc; "
        f"cp {disk}/facesync.lock.json {out}/lock.json"
    )
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env={**enrolled.env,
                   "PYTHONDONTWRITEBYTECODE": "1"}, timeout=120, check=True)
    err = (out / "stderr").read_text()
    assert (out / "rc").read_text().strip() == "1", err
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, err
    assert "No space left on device" in lines[0] and "free some space" in lines[0], err
    assert str(disk) in lines[0], err  # the file it could not write
    assert "unexpected" not in err and "Traceback" not in err
    assert read_lock_json(out / "lock.json") == before  # nothing lost, nothing half-written


def test_a_full_disk_before_facesync_exists_leaves_it_ignored_by_git(
    project: Project, small_faces: Path, tmp_path: Path
) -> None:
    """The first run creates `.facesync/` and its `.gitignore`: on a full disk it
    fails in one line naming the file, and leaves no empty `.gitignore` that
    would let the journal or the emulator's face data into Git later."""
    if not _can_mount_a_small_disk():
        pytest.fail("this test needs `unshare -rm` (user and mount namespaces) to make a full disk")
    photo = project.add_photo("obama", people(small_faces, "barack_obama")[0])
    project.write_manifest({"g-full": {"name": "G", "persons": {"obama": {"faces": [photo]}}}})
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "facesync", "plan"])
    script = (
        f"mount -t tmpfs -o size=2m tmpfs {disk} && cp -a {project.root}/. {disk}/ && "
        f"(dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null; true) && cd {disk} && "
        f"{cli} >{out}/stdout 2>{out}/stderr; echo $? >{out}/rc; "
        f"rm {disk}/filler && {cli} >/dev/null 2>&1; "
        f"cp {disk}/.facesync/.gitignore {out}/gitignore"
    )
    subprocess.run(["unshare", "-rm", "sh", "-c", script],
                   env={**project.env, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=120, check=True)
    err = (out / "stderr").read_text()
    assert (out / "rc").read_text().strip() == "1", err
    assert err.count("\n") == 1 and "No space left on device (" in err, err
    assert "free some space" in err and "Traceback" not in err
    assert (out / "gitignore").read_text().strip().endswith("*")  # written once space is back
