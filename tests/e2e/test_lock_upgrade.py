"""A lock written by an older facesync (format 1) is read, never refused, and
rewritten in format 2 by the next apply that records something, with one notice.

Through the real CLI against the emulator: the server is left as a format 1
facesync left it (faces marked `facesync:sha256=<hex>`), the lock is written in
format 1 by hand, and nothing may be re-created, duplicated or updated.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from tests.lock_reading import file_key

from .conftest import Project, people
from .test_recovery import _leaders, face_user_data


@pytest.fixture
def leaders(project: Project, small_faces: Path, gid: str) -> Project:
    return _leaders(project, small_faces, gid)


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _old_digest(text: str) -> str:
    return "sha256:" + _hex(text.encode())


def _as_format_1(project: Project) -> dict:
    """Mark the server's faces as a format 1 facesync did and write its lock."""
    gid = project.gid  # type: ignore[attr-defined]
    names = {key: p["name"] for key, p in project.persons.items()}  # type: ignore[attr-defined]
    doc = project.lock_json()
    group = doc["groups"][gid]
    persons = {}
    for key, person in group["persons"].items():
        faces = []
        for face in person["faces"]:
            sha = _hex((project.root / face["path"]).read_bytes())
            marker = FACE_PREFIX + sha
            path = (f"/persongroups/{gid}/persons/{person['personId']}"
                    f"/persistedfaces/{face['persistedFaceId']}")
            project.server.call("PATCH", path, json={"userData": marker}).raise_for_status()
            faces.append({
                "detectionModel": "detection_03", "path": face["path"],
                "persistedFaceId": face["persistedFaceId"], "sha256": sha, "targetFace": None,
                "userDataDigest": _old_digest(marker),
            })
        persons[key] = {
            "faces": sorted(faces, key=lambda f: f["sha256"]),
            "nameDigest": _old_digest(names[key]),
            "personId": person["personId"],
            "userDataDigest": _old_digest(PERSON_PREFIX + key),
        }
    old = {
        "endpoint": doc["endpoint"],
        "groups": {gid: {
            "kind": "personGroup", "nameDigest": _old_digest("Leaders"), "persons": persons,
            "recognitionModel": group["recognitionModel"],
            "training": {"needsTraining": False, "status": group["training"]["status"]},
            "userDataDigest": None,
        }},
        "serial": doc["serial"],
        "version": 1,
    }
    project.lock.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    return old


def test_a_format_1_lock_plans_no_changes_and_is_left_as_it_is(leaders: Project) -> None:
    assert leaders.cli("apply", "--yes").code == 0
    _as_format_1(leaders)
    before = leaders.lock.read_bytes()
    plan = leaders.cli("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out and "Upgraded" not in plan.err
    assert leaders.cli("apply", "--yes").code == 0  # nothing to record: nothing written
    assert leaders.lock.read_bytes() == before


def test_the_next_apply_that_records_a_change_upgrades_it_with_one_notice(
    leaders: Project, small_faces: Path
) -> None:
    gid = leaders.gid  # type: ignore[attr-defined]
    assert leaders.cli("apply", "--yes").code == 0
    old = _as_format_1(leaders)
    biden = leaders.persons["biden"]  # type: ignore[attr-defined]
    biden["faces"].append(leaders.add_photo("biden", people(small_faces, "joe_biden")[1]))
    leaders.write_manifest({gid: {"name": "Leaders", "persons": leaders.persons}})  # type: ignore[attr-defined]

    result = leaders.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert "Resources: 1 added, 0 changed, 0 destroyed." in result.out
    assert result.err.count("Upgraded the lock file") == 1, result.err
    assert "facesync.lock.json from format 1 to 2 (same ids, one person per line)" in result.err

    doc = leaders.lock_json()
    assert doc["version"] == 2 and doc["serial"] > old["serial"]
    persons = doc["groups"][gid]["persons"]
    obama = old["groups"][gid]["persons"]["obama"]
    assert persons["obama"]["personId"] == obama["personId"]
    assert {f["persistedFaceId"] for f in persons["obama"]["faces"]} == {
        f["persistedFaceId"] for f in obama["faces"]}
    assert {f["sha256"] for f in persons["obama"]["faces"]} == {
        file_key(leaders.root / f["path"]) for f in obama["faces"]}
    for face in obama["faces"]:  # left with the marker of its day, not updated
        marker = face_user_data(leaders.server, gid, obama["personId"], face["persistedFaceId"])
        assert marker == FACE_PREFIX + face["sha256"]
    assert len(leaders.server.persons(gid)) == 2

    again = leaders.cli("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, again.out + again.err
    assert "Upgraded" not in leaders.cli("apply", "--yes").err
