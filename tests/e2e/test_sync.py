"""The main job end to end: manifest -> plan -> apply -> lock, through the real
CLI against the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Project, people


@pytest.fixture
def gallery(project: Project, small_faces: Path, gid: str) -> Project:
    """A project with Obama (3 photos) and Biden (2 photos) in one group."""
    obama = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:3]]
    biden = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[1:]]
    project.write_manifest(
        {
            gid: {
                "name": "Leaders",
                "persons": {
                    "obama": {"name": "Barack Obama", "faces": obama},
                    "biden": {"name": "Joe Biden", "faces": ["faces/biden/*.jpg"]},
                },
            }
        }
    )
    project.gid = gid  # type: ignore[attr-defined]
    assert len(biden) == 2
    return project


def test_first_apply_creates_everything_trains_and_records_every_id(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    result = gallery.cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "Apply complete! Resources: 8 added, 0 changed, 0 destroyed." in result.out
    lock = gallery.lock_json()
    persons = lock["groups"][gid]["persons"]
    server = {p["personId"]: p for p in gallery.server.persons(gid)}
    assert set(server) == {persons["obama"]["personId"], persons["biden"]["personId"]}
    for person in persons.values():
        recorded = {f["persistedFaceId"] for f in person["faces"]}
        assert recorded == set(server[person["personId"]]["persistedFaceIds"])
    assert lock["groups"][gid]["training"]["status"] == "succeeded"
    training = gallery.server.call("GET", f"/persongroups/{gid}/training").json()
    assert training["status"] == "succeeded"


def test_second_apply_changes_nothing_and_leaves_the_lock_byte_identical(gallery: Project) -> None:
    assert gallery.cli("apply", "--yes").code == 0
    before = gallery.lock.read_bytes()
    result = gallery.cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "No changes. Server matches the manifest." in result.out
    assert gallery.lock.read_bytes() == before


def test_plan_after_apply_is_empty_and_detailed_exitcode_says_so(gallery: Project) -> None:
    first = gallery.cli("plan", "--detailed-exitcode")
    assert first.code == 2
    assert "Plan: 8 to add, 0 to change, 0 to destroy, 1 to train." in first.out
    assert gallery.cli("apply", "--yes").code == 0
    second = gallery.cli("plan", "--detailed-exitcode")
    assert second.code == 0, second.err
    assert "No changes." in second.out


def test_adding_a_photo_adds_one_face_and_retrains(gallery: Project, small_faces: Path) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    gallery.add_photo("biden", people(small_faces, "joe_biden")[0])
    plan = gallery.cli("plan")
    assert plan.code == 0, plan.err
    added = [line for line in plan.out.splitlines() if line.startswith("+ ")]
    assert len(added) == 1 and "biden/faces/biden/biden_2010" in added[0]
    assert "Plan: 1 to add, 0 to change, 0 to destroy, 1 to train." in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    biden_id = gallery.lock_json()["groups"][gid]["persons"]["biden"]["personId"]
    biden = next(p for p in gallery.server.persons(gid) if p["personId"] == biden_id)
    assert len(biden["persistedFaceIds"]) == 3


def test_removing_a_person_deletes_it_from_the_server_and_the_lock(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    text = gallery.manifest.read_text()
    gallery.manifest.write_text(text.split("      biden:")[0])
    plan = gallery.cli("plan")
    assert f"- {gid}/biden" in plan.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy, 1 to train." in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    assert [p["name"] for p in gallery.server.persons(gid)] == ["Barack Obama"]
    assert set(gallery.lock_json()["groups"][gid]["persons"]) == {"obama"}


def test_renaming_a_file_is_not_a_server_change_but_the_lock_follows(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    old = next((gallery.root / "faces" / "biden").glob("*.jpg"))
    old.rename(old.with_name("renamed.jpg"))
    plan = gallery.cli("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    faces = gallery.lock_json()["groups"][gid]["persons"]["biden"]["faces"]
    assert "faces/biden/renamed.jpg" in {f["path"] for f in faces}


def test_changing_a_photos_bytes_replaces_that_face(gallery: Project, small_faces: Path) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    before = gallery.lock_json()["groups"][gid]["persons"]["biden"]["faces"]
    target = sorted((gallery.root / "faces" / "biden").glob("*.jpg"))[0]
    target.write_bytes(people(small_faces, "joe_biden")[0].read_bytes())
    plan = gallery.cli("plan")
    assert plan.code == 0, plan.err
    assert "1 to add" in plan.out and "1 to destroy" in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    after = gallery.lock_json()["groups"][gid]["persons"]["biden"]["faces"]
    assert len(after) == 2
    assert {f["sha256"] for f in after} != {f["sha256"] for f in before}
    biden = gallery.lock_json()["groups"][gid]["persons"]["biden"]["personId"]
    server = next(p for p in gallery.server.persons(gid) if p["personId"] == biden)
    assert set(server["persistedFaceIds"]) == {f["persistedFaceId"] for f in after}


def test_changing_a_name_updates_the_person_in_place(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    person_id = gallery.lock_json()["groups"][gid]["persons"]["obama"]["personId"]
    gallery.manifest.write_text(
        gallery.manifest.read_text().replace("name: Barack Obama", "name: President Obama")
    )
    plan = gallery.cli("plan")
    assert f"~ {gid}/obama" in plan.out
    assert "0 to add, 1 to change, 0 to destroy" in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    server = {p["personId"]: p["name"] for p in gallery.server.persons(gid)}
    assert server[person_id] == "President Obama"


def test_changing_the_recognition_model_replaces_the_group(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    old_ids = {p["personId"] for p in gallery.server.persons(gid)}
    gallery.manifest.write_text(
        gallery.manifest.read_text().replace(
            "name: Leaders", "name: Leaders\n    recognitionModel: recognition_03"
        )
    )
    plan = gallery.cli("plan")
    assert f"-/+ {gid}" in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    assert gallery.server.group(gid).json()["recognitionModel"] == "recognition_03"
    new_ids = {p["personId"] for p in gallery.server.persons(gid)}
    assert len(new_ids) == 2 and not (new_ids & old_ids)
    assert gallery.cli("plan", "--detailed-exitcode").code == 0


def test_a_person_deleted_behind_facesyncs_back_is_created_again(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    person_id = gallery.lock_json()["groups"][gid]["persons"]["obama"]["personId"]
    deleted = gallery.server.call("DELETE", f"/persongroups/{gid}/persons/{person_id}")
    assert deleted.status_code == 200
    plan = gallery.cli("plan")
    assert f"+ {gid}/obama" in plan.out
    assert gallery.cli("apply", "--yes").code == 0
    names = sorted(p["name"] for p in gallery.server.persons(gid))
    assert names == ["Barack Obama", "Joe Biden"]
    assert gallery.cli("plan", "--detailed-exitcode").code == 0


def test_unmanaged_persons_are_listed_and_never_touched(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    created = gallery.server.call("POST", f"/persongroups/{gid}/persons", json={"name": "Visitor"})
    stranger = created.json()["personId"]
    plan = gallery.cli("plan", "--detailed-exitcode")
    assert plan.code == 0
    assert "Unmanaged (not touched):" in plan.out and stranger in plan.out
    text = gallery.manifest.read_text()
    gallery.manifest.write_text(text.split("      biden:")[0])
    assert gallery.cli("apply", "--yes").code == 0
    assert stranger in {p["personId"] for p in gallery.server.persons(gid)}


def test_a_stale_saved_plan_is_refused(gallery: Project, small_faces: Path) -> None:
    assert gallery.cli("plan", "-o", "saved.plan").code == 0
    assert gallery.cli("apply", "--yes").code == 0  # moves the lock's serial
    result = gallery.cli("apply", "saved.plan")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "plan" in result.err.lower()


def test_a_fresh_saved_plan_applies_without_a_prompt(gallery: Project) -> None:
    assert gallery.cli("plan", "-o", "saved.plan").code == 0
    result = gallery.cli("apply", "saved.plan")
    assert result.code == 0, result.err
    assert gallery.cli("plan", "--detailed-exitcode").code == 0


def test_apply_without_a_terminal_and_without_yes_refuses_and_changes_nothing(
    gallery: Project,
) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    result = gallery.cli("apply", input="yes\n")
    assert result.code == 1
    assert "--yes" in result.err
    assert not gallery.lock.exists()
    assert gallery.server.group(gid).status_code == 404


def test_identify_names_the_enrolled_person(gallery: Project, small_faces: Path) -> None:
    assert gallery.cli("apply", "--yes").code == 0
    held_out = people(small_faces, "barack_obama")[3]
    result = gallery.cli("identify", str(held_out))
    assert result.code == 0, result.err
    assert "Barack Obama (obama)" in result.out  # the manifest's name, then the key
    stranger = gallery.cli("identify", str(people(small_faces, "michelle_obama")[0]))
    assert stranger.code == 0
    assert stranger.out.split()[-1] == "unknown"


def test_destroy_deletes_what_the_lock_manages(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    result = gallery.cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert gallery.server.group(gid).status_code == 404
    assert gallery.lock_json()["groups"] == {}


def test_show_lists_what_the_lock_records(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    assert gallery.cli("apply", "--yes").code == 0
    result = gallery.cli("show")
    assert result.code == 0, result.err
    assert gid in result.out and "obama" in result.out and "biden" in result.out
