"""A group whose persons come from a folder layout (personsFrom), through the
real CLI against the emulator over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import Project, people


def test_a_folder_layout_group_enrols_its_persons_and_faces(
    project: Project, small_faces: Path, gid: str
) -> None:
    for key, source, count in (("obama", "barack_obama", 2), ("biden", "joe_biden", 1)):
        for photo in people(small_faces, source)[:count]:
            target = project.root / "people" / key / photo.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, target)
    (project.root / "people.csv").write_text("key,name,userData\nobama,Barack Obama,44th\n")
    project.manifest.write_text(
        f"version: 1\ngroups:\n  {gid}:\n    name: Leaders\n"
        "    personsFrom:\n      folder: people\n      details: people.csv\n"
    )
    plan = project.cli("plan")
    assert plan.code == 0, plan.err
    assert "Plan: 6 to add, 0 to change, 0 to destroy, 1 to train." in plan.out
    assert f"+ {gid}/obama/people/obama/" in plan.out
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.err
    persons = {p["name"]: p for p in project.server.persons(gid)}
    assert set(persons) == {"Barack Obama", "biden"}
    assert persons["Barack Obama"]["userData"] == "44th"
    assert len(persons["Barack Obama"]["persistedFaceIds"]) == 2
    assert len(persons["biden"]["persistedFaceIds"]) == 1
    again = project.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_a_bad_details_row_is_one_line_naming_the_csv_file(project: Project, small_faces: Path,
                                                            gid: str) -> None:
    photo = people(small_faces, "joe_biden")[0]
    (project.root / "people" / "biden").mkdir(parents=True)
    shutil.copyfile(photo, project.root / "people" / "biden" / photo.name)
    (project.root / "people.csv").write_text("key,name\nbiden,Joe Biden\nharris,Kamala Harris\n")
    project.manifest.write_text(
        f"version: 1\ngroups:\n  {gid}:\n    name: Leaders\n"
        "    personsFrom:\n      folder: people\n      details: people.csv\n"
    )
    result = project.cli("plan")
    assert result.code == 1
    assert result.err.strip() == (
        f"Error: people.csv:3: groups.{gid}.persons.harris: no person folder 'harris' in "
        "'people' for this row: add the folder with the person's photos or remove the row"
    )
    assert "Traceback" not in result.err
