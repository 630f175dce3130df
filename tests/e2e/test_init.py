"""`facesync init` through the real CLI: a folder of photos becomes a manifest that
validate, plan and apply take as it is; the refusals are one line and exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.lock_reading import image_key

from .conftest import Project, people


def _folder(project: Project, small_faces: Path, name: str) -> Path:
    """`name`/christina_koch (one photo) and `name`/barack_obama (two)."""
    top = project.root / name
    for person, count in (("christina_koch", 1), ("barack_obama", 2)):
        for photo in people(small_faces, person)[:count]:
            (top / person).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, top / person / photo.name)
    return top


def test_init_then_apply_enrols_every_person_of_the_folder(
    project: Project, small_faces: Path, gid: str
) -> None:
    top = _folder(project, small_faces, gid)  # the group id comes from the folder's name
    result = project.cli("init", gid)
    assert result.code == 0, result.err
    assert result.out.startswith(
        f"Wrote facesync.yaml: group '{gid}' with 2 person(s) and 3 photo(s) from {gid}/.")
    assert "  facesync plan " in result.out and "  facesync apply " in result.out
    validated = project.cli("validate")
    assert validated.code == 0, validated.err
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err + applied.out
    assert "Resources: 6 added" in applied.out
    persons = project.lock_json()["groups"][gid]["persons"]
    assert sorted(persons) == ["barack_obama", "christina_koch"]
    [koch] = persons["christina_koch"]["faces"]
    photo = next((top / "christina_koch").iterdir())
    assert koch["sha256"] == image_key(photo.read_bytes())
    assert {p["name"] for p in project.server.persons(gid)} == {"Barack Obama", "Christina Koch"}


def test_init_refuses_to_overwrite_a_manifest(project: Project, small_faces: Path) -> None:
    _folder(project, small_faces, "photos")
    project.manifest.write_text("version: 1\ngroups: {}\n")
    result = project.cli("init", "photos")
    assert result.code == 1
    assert result.err == (
        "Error: facesync.yaml already exists: facesync init never overwrites a manifest; "
        "edit it, or pass -m NEW.yaml to write another one\n")
    assert result.out == ""
    assert project.manifest.read_text() == "version: 1\ngroups: {}\n"


def test_init_refuses_a_folder_without_person_folders(project: Project) -> None:
    (project.root / "photos").mkdir()
    result = project.cli("init", "photos")
    assert result.code == 1
    assert result.err.startswith("Error: photos/ holds no person folder with photos: ")
    assert result.err.count("\n") == 1
    assert not project.manifest.exists()


def test_init_writes_the_manifest_named_with_m_and_says_how_to_use_it(
    project: Project, small_faces: Path
) -> None:
    _folder(project, small_faces, "photos")
    result = project.cli("init", "photos", "-m", "team.yaml")
    assert result.code == 0, result.err
    assert "facesync plan -m team.yaml" in result.out
    assert (project.root / "team.yaml").exists() and not project.manifest.exists()
    assert project.cli("validate", "-m", "team.yaml").code == 0


def test_init_with_no_folder_takes_the_manifests_folder(
    project: Project, small_faces: Path
) -> None:
    top = _folder(project, small_faces, "photos")
    result = project.cli("init", "-m", "photos/facesync.yaml")
    assert result.code == 0, result.err
    text = (top / "facesync.yaml").read_text(encoding="utf-8")
    assert "- christina_koch/" in text and "- photos/" not in text
