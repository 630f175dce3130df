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


def _tampered_plan(applied: Project, edit) -> Path:  # type: ignore[no-untyped-def]
    """A real saved plan (Biden leaves the manifest) whose delete is then edited."""
    gid = applied.gid  # type: ignore[attr-defined]
    persons = applied.persons  # type: ignore[attr-defined]
    applied.write_manifest({gid: {"name": "Leaders", "persons": {"obama": persons["obama"]}}})
    saved = applied.cli("plan", "-o", "del.plan")
    assert saved.code == 0, saved.err
    path = applied.root / "del.plan"
    doc = json.loads(path.read_text())
    delete = next(c for c in doc["changes"] if c["address"].endswith("/biden"))
    edit(delete["data"])
    path.write_text(json.dumps(doc))
    return path


def test_a_saved_plan_edited_to_reach_another_group_deletes_nothing(
    applied: Project, victim: str
) -> None:
    """Its freshness fields are real; only the delete's data names the victim."""
    made = applied.server.call("POST", f"/persongroups/{victim}/persons", json={"name": "V"})
    made.raise_for_status()
    victim_person = made.json()["personId"]
    gid = applied.gid  # type: ignore[attr-defined]
    before = _gallery(applied.server, gid)
    plan = _tampered_plan(
        applied, lambda data: data.update(group_id=victim, person_id=victim_person)
    )
    result = applied.cli("apply", str(plan))
    assert result.code == 1, result.out + result.err
    assert result.err.count("\n") == 1 and "does not fit the lock file" in result.err
    assert f"its data names group '{victim}'" in result.err
    assert [p["personId"] for p in applied.server.persons(victim)] == [victim_person]
    assert _gallery(applied.server, gid) == before


@pytest.mark.parametrize("edit, problem", [
    (lambda data: data.update(kind="x/../y"), "the group kind 'x/../y'"),
    (lambda data: data.update(kind="largePersonGroup"), "the kind 'largePersonGroup'"),
    (lambda data: data.update(person_id=str(uuid.uuid4())), "is not the one the lock records"),
])
def test_a_saved_plan_whose_ids_do_not_fit_the_lock_is_refused(
    applied: Project, edit, problem: str  # type: ignore[no-untyped-def]
) -> None:
    gid = applied.gid  # type: ignore[attr-defined]
    before = _gallery(applied.server, gid)
    result = applied.cli("apply", str(_tampered_plan(applied, edit)))
    assert result.code == 1, result.out + result.err
    assert result.err.count("\n") == 1 and problem in result.err, result.err
    assert _gallery(applied.server, gid) == before


def test_a_lock_path_with_a_terminal_escape_is_refused_not_printed(applied: Project) -> None:
    """A path in a hostile lock could set the terminal's title or hide a line."""
    gid = applied.gid  # type: ignore[attr-defined]
    doc = _raw_lock(applied)
    face = doc["groups"][gid]["persons"]["biden"]["faces"][0]
    sha, face_id, path = face.split(" ", 2)
    doc["groups"][gid]["persons"]["biden"]["faces"][0] = f"{sha} {face_id} x\x1b]0;t\x07{path}"
    raw = _write_lock(applied, doc)
    for command in ("show", "plan"):
        result = applied.cli(command)
        assert result.code == 1, result.out + result.err
        assert "\x1b" not in result.out + result.err and "\x07" not in result.err
        assert applied.lock.read_bytes() == raw
