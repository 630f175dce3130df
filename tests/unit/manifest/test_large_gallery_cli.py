"""A gallery of hundreds of persons, in either form, through the real CLI: a warm
`validate` (the loader's fast lane) says what a cold one says, and still notices
a photo whose bytes changed behind its size and mtime."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import REPO, age

PERSONS = 300
PHOTOS = ("barack_obama", "joe_biden")  # each person: one photo of each


def _facesync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACESYNC_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "facesync", *args], cwd=root, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture
def gallery(tmp_path: Path, small_faces: Path) -> Path:
    """PERSONS person folders of two photos, described by inline.yaml (every path
    written out) and folder.yaml (personsFrom)."""
    sources = [sorted((small_faces / person).glob("*.jpg"))[0] for person in PHOTOS]
    lines = ["version: 1", "groups:", "  staff:", "    name: Staff", "    persons:"]
    for i in range(PERSONS):
        key = f"p{i:04d}"
        lines += [f"      {key}:", f"        name: Person {i}", "        faces:"]
        for n, source in enumerate(sources):
            target = tmp_path / "people" / key / f"{n}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            age(target)
            lines.append(f"          - people/{key}/{n}.jpg")
    (tmp_path / "inline.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "folder.yaml").write_text(
        "version: 1\ngroups:\n  staff:\n    name: Staff\n    personsFrom:\n      folder: people\n"
    )
    return tmp_path


@pytest.mark.parametrize(("form", "line", "where"), [
    ("inline", 5 + 250 * 5 + 5, "groups.staff.persons.p0250.faces[1]"),
    ("folder", 6, "groups.staff.personsFrom.folder"),
])
def test_a_warm_validate_of_a_large_gallery_says_what_a_cold_one_says(
    gallery: Path, form: str, line: int, where: str
) -> None:
    valid = f"{form}.yaml is valid: 1 group(s), {PERSONS} person(s), {2 * PERSONS} face image(s)."
    for run in ("cold", "warm"):
        result = _facesync(gallery, "validate", "-m", f"{form}.yaml")
        assert (result.returncode, result.stdout.strip()) == (0, valid), run + result.stderr
    # the same size and mtime, other bytes, as a copy with its timestamp kept leaves it
    photo = gallery / "people" / "p0250" / "1.jpg"
    kept = photo.stat()
    photo.write_bytes(b"x" * kept.st_size)
    os.utime(photo, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    result = _facesync(gallery, "validate", "-m", f"{form}.yaml")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {form}.yaml:{line}: {where}: people/p0250/1.jpg: the content is "
        "not a JPEG, PNG, GIF or BMP image, whatever its name says: convert it to one of "
        "those formats"
    ]
    assert "Traceback" not in result.stderr
