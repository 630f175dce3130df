"""A lock file is untrusted input (issue 9, items 2 and 3): it reaches facesync through
pull requests, and its ids go into URL paths and decide what apply deletes.

Through the real CLI against the emulator on 127.0.0.1: a lock whose personId climbs
out of its group with `../` must not delete a group the lock does not manage, and a
lock that lists one personId or persistedFaceId twice must not make apply delete a
real person or face. Each is refused before any call, in one line that names the
file and the field, and the lock is left as it was.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from .conftest import Project, Server
from .test_recovery import _leaders


@pytest.fixture
def applied(project: Project, small_faces: Path, gid: str) -> Project:
    """Obama (2 photos) and Biden (1 photo) applied to a fresh group."""
    leaders = _leaders(project, small_faces, gid)
    result = leaders.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    return leaders


@pytest.fixture
def victim(project: Project) -> str:
    """A group made behind facesync's back: no lock names it."""
    group_id = "victim-" + uuid.uuid4().hex[:12]
    response = project.server.call("PUT", f"/persongroups/{group_id}", json={"name": "Victim"})
    response.raise_for_status()
    return group_id


def _raw_lock(project: Project) -> dict:
    return json.loads(project.lock.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _write_lock(project: Project, doc: dict) -> bytes:
    raw = json.dumps(doc).encode()
    project.lock.write_bytes(raw)
    project.lock.chmod(0o600)  # as facesync makes it: the mode warning is another test's
    return raw


def _refused_in_one_line(project: Project, raw_lock: bytes, *args: str) -> str:
    result = project.cli(*args)
    assert result.code == 1, result.out + result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    assert "facesync.lock.json: " in result.err
    assert project.lock.read_bytes() == raw_lock  # refused untouched
    return result.err.strip()


def _gallery(server: Server, gid: str) -> dict[str, list[str]]:
    """name -> sorted persistedFaceIds of every person of the group on the server."""
    return {p["name"]: sorted(p["persistedFaceIds"]) for p in server.persons(gid)}


def test_a_person_id_that_climbs_out_of_its_group_deletes_nothing(
    applied: Project, victim: str
) -> None:
    gid = applied.gid  # type: ignore[attr-defined]
    before = _gallery(applied.server, gid)
    persons = applied.persons  # type: ignore[attr-defined]
    applied.write_manifest({gid: {"name": "Leaders", "persons": {"biden": persons["biden"]}}})
    doc = _raw_lock(applied)
    attack = f"../../../persongroups/{victim}"
    doc["groups"][gid]["persons"]["obama"]["personId"] = attack  # apply would delete obama
    raw = _write_lock(applied, doc)
    field = f"groups.{gid}.persons.obama.personId: {attack!r} is not a GUID"

    saved = _refused_in_one_line(applied, raw, "plan", "--no-refresh", "-o", "p.json")
    assert field in saved and saved.endswith("fix or remove the lock entry")
    assert not (applied.root / "p.json").exists()
    assert field in _refused_in_one_line(applied, raw, "apply", "--yes")
    assert field in _refused_in_one_line(applied, raw, "destroy", "--yes")

    assert applied.server.group(victim).status_code == 200
    assert _gallery(applied.server, gid) == before


def test_one_person_id_under_two_keys_deletes_no_real_person(applied: Project) -> None:
    gid = applied.gid  # type: ignore[attr-defined]
    before = _gallery(applied.server, gid)
    doc = _raw_lock(applied)
    persons = doc["groups"][gid]["persons"]
    persons["biden"]["personId"] = persons["obama"]["personId"]
    raw = _write_lock(applied, doc)

    message = _refused_in_one_line(applied, raw, "apply", "--yes")
    assert (f"groups.{gid}.persons.obama.personId: {persons['obama']['personId']!r} is also "
            f"the personId of groups.{gid}.persons.biden") in message  # keys in file order
    assert "is also the personId" in _refused_in_one_line(applied, raw, "plan")
    assert _gallery(applied.server, gid) == before


def test_one_face_id_under_two_persons_deletes_no_real_face(applied: Project) -> None:
    gid = applied.gid  # type: ignore[attr-defined]
    before = _gallery(applied.server, gid)
    doc = _raw_lock(applied)
    persons = doc["groups"][gid]["persons"]
    obama_face = persons["obama"]["faces"][0].split(" ")[1]
    sha, _, path = persons["biden"]["faces"][0].split(" ", 2)
    persons["biden"]["faces"][0] = f"{sha} {obama_face} {path}"
    raw = _write_lock(applied, doc)

    message = _refused_in_one_line(applied, raw, "apply", "--yes")
    assert f"persistedFaceId {obama_face!r} is listed twice" in message
    assert _gallery(applied.server, gid) == before


def test_a_format_1_lock_gets_the_same_refusal(project: Project, victim: str, gid: str) -> None:
    """No apply needed: a hand-written format 1 lock whose only person climbs out."""
    digest = "sha256:" + "0" * 64
    lock = {
        "version": 1, "serial": 1, "endpoint": project.env["FACESYNC_ENDPOINT"],
        "groups": {gid: {
            "kind": "personGroup", "nameDigest": digest, "recognitionModel": "recognition_04",
            "training": {"needsTraining": False, "status": None}, "userDataDigest": None,
            "persons": {"obama": {"personId": f"../../{victim}", "nameDigest": digest,
                                  "userDataDigest": None, "faces": []}},
        }},
    }
    project.write_manifest({gid: {"name": "Leaders", "persons": {}}})
    raw = _write_lock(project, lock)
    message = _refused_in_one_line(project, raw, "apply", "--yes")
    assert f"groups.{gid}.persons.obama.personId: '../../{victim}' is not a GUID" in message
    assert project.server.group(victim).status_code == 200
