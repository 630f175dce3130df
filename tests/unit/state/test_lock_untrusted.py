"""A lock file is untrusted input (issue 9): every id has the service's form, none is
listed twice, and a lock that fails is refused whole, untouched, in one line that
names the file and the field; in both formats, whatever a note in .facesync/ says."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from facesync.digest import image_key, text_digest
from facesync.errors import EXIT_ERROR, LockFileError
from facesync.state import lock_checks, lock_file, lock_format
from facesync.state.lock_checks import (
    GUID_RE,
    all_guids,
    first_problem,
    id_problem,
    saved_ids_problem,
)
from facesync.state.lock_file import lock_bytes, read_lock, write_lock
from facesync.state.lock_format import marker_digest
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState
from facesync.workspace import lock_check_path

ENDPOINT = "http://127.0.0.1:5005"
ATTACK = "../../../persongroups/victim"


def _guid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def _person(key: str, n: int, faces: int = 2) -> LockedPerson:
    """A person with id `_guid(n)` and faces `_guid(n * 100 + i)`."""
    shas = [image_key(hashlib.sha256(f"{key}{i}".encode()).hexdigest()) for i in range(faces)]
    return LockedPerson(key, _guid(n), text_digest(key) or "", text_digest("facesync:key=" + key),
                        tuple(sorted((LockedFace(sha, f"faces/{key}/{i}.jpg", _guid(n * 100 + i),
                                                 None, "detection_03", marker_digest(sha))
                                      for i, sha in enumerate(shas)), key=lambda f: f.sha256)))


def _state() -> LockState:
    def group(gid: str, persons: tuple[LockedPerson, ...]) -> LockedGroup:
        return LockedGroup(gid, "personGroup", "recognition_04", text_digest(gid) or "",
                           persons=persons)

    return LockState(ENDPOINT, 3, (group("team", (_person("alice", 1), _person("bob", 2))),
                                   group("zoo", (_person("carol", 3),))))


def _doc() -> dict[str, Any]:
    return json.loads(lock_bytes(_state()))  # type: ignore[no-any-return]


def _persons(doc: dict[str, Any], gid: str = "team") -> dict[str, Any]:
    return doc["groups"][gid]["persons"]  # type: ignore[no-any-return]


def _face_id(doc: dict[str, Any], key: str, i: int, gid: str = "team") -> str:
    return _persons(doc, gid)[key]["faces"][i].split(" ")[1]  # type: ignore[no-any-return]


def _set_face_id(doc: dict[str, Any], key: str, i: int, face_id: str, gid: str = "team") -> None:
    faces = _persons(doc, gid)[key]["faces"]
    sha, _, path = faces[i].split(" ", 2)
    faces[i] = f"{sha} {face_id} {path}"


def _refused(tmp_path: Path, content: bytes | str) -> str:
    """The one line a lock is refused with; its bytes are left as they were."""
    raw = content.encode() if isinstance(content, str) else content
    path = tmp_path / "m.lock.json"
    path.write_bytes(raw)
    with pytest.raises(LockFileError) as caught:
        read_lock(path, ENDPOINT)
    assert path.read_bytes() == raw
    assert caught.value.exit_code == EXIT_ERROR
    message = str(caught.value)
    assert message.isprintable(), message  # one line, no escape sequence reaches a terminal
    assert str(path) in message
    return message


# --- ids of the service's form ------------------------------------------------------------


Edit = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: _persons(d)["alice"].update(personId=ATTACK),
         f"groups.team.persons.alice.personId: {ATTACK!r} is not a GUID"),
        (lambda d: _persons(d)["alice"].update(personId=_guid(0xABC).upper()),
         f"groups.team.persons.alice.personId: {_guid(0xABC).upper()!r} is not a GUID"),
        (lambda d: _persons(d)["alice"].update(personId=_guid(1) + "\n"),
         "groups.team.persons.alice.personId: '00000001-0000-4000-8000-000000000001\\n' is not"),
        (lambda d: _persons(d)["alice"].update(personId=7),
         "groups.team.persons.alice.personId: 7 is not a GUID"),
        (lambda d: _set_face_id(d, "bob", 1, "../x"),
         "groups.team.persons.bob.faces[1]: persistedFaceId '../x' is not a GUID"),
        (lambda d: _persons(d, "zoo")["carol"]["faces"].__setitem__(
            0, {"sha256": image_key("c" * 64), "persistedFaceId": "%2e%2e", "path": "c.jpg"}),
         "groups.zoo.persons.carol.faces[0].persistedFaceId: persistedFaceId '%2e%2e' is not"),
    ],
    ids=["dot-dot", "uppercase", "newline", "number", "face-line", "face-object"],
)
def test_an_id_that_is_not_a_lowercase_guid_is_refused(
    tmp_path: Path, edit: Edit, expected: str
) -> None:
    doc = _doc()
    edit(doc)
    message = _refused(tmp_path, json.dumps(doc))
    assert message.startswith(f"{tmp_path / 'm.lock.json'}: {expected}"), message
    assert message.endswith("; fix or remove the lock entry")


def test_the_message_is_the_one_the_issue_asks_for(tmp_path: Path) -> None:
    doc = _doc()
    _persons(doc)["alice"]["personId"] = "../x"
    assert _refused(tmp_path, json.dumps(doc)) == (
        f"{tmp_path / 'm.lock.json'}: groups.team.persons.alice.personId: '../x' is not a GUID "
        "as the service writes ids (lowercase hex, 8-4-4-4-12); fix or remove the lock entry"
    )


@pytest.mark.parametrize("group_id", ["../victim", "team\n", "Team", "t" * 65])
def test_a_group_id_the_service_would_not_take_is_refused(tmp_path: Path, group_id: str) -> None:
    doc = _doc()
    doc["groups"][group_id] = doc["groups"].pop("team")
    message = _refused(tmp_path, json.dumps(doc))
    assert f"{group_id[:48]!r}"[:-1] in message and "is not a group id" in message


@pytest.mark.parametrize("key", ["../bob", "bob\n", "bob\x1b[2J", ""])
def test_a_person_key_that_is_not_one_is_refused_in_one_line(tmp_path: Path, key: str) -> None:
    doc = _doc()
    _persons(doc)[key] = _persons(doc).pop("bob")
    assert "is not a person key" in _refused(tmp_path, json.dumps(doc))


# --- nothing twice --------------------------------------------------------------------------


def test_one_person_id_under_two_keys_is_refused(tmp_path: Path) -> None:
    doc = _doc()
    _persons(doc)["bob"]["personId"] = _guid(1)  # alice's
    message = _refused(tmp_path, json.dumps(doc))
    assert (f"groups.team.persons.bob.personId: {_guid(1)!r} is also the personId of "
            "groups.team.persons.alice") in message


def test_one_person_id_in_two_groups_is_refused(tmp_path: Path) -> None:
    doc = _doc()
    _persons(doc, "zoo")["carol"]["personId"] = _guid(2)  # bob's, in another group
    assert "is also the personId of groups.team.persons.bob" in _refused(tmp_path,
                                                                          json.dumps(doc))


@pytest.mark.parametrize(
    ("owner", "gid"), [("alice", "team"), ("bob", "team"), ("carol", "zoo")],
    ids=["same-person", "other-person", "other-group"],
)
def test_one_face_id_listed_twice_is_refused(tmp_path: Path, owner: str, gid: str) -> None:
    doc = _doc()
    taken = _face_id(doc, "alice", 0)
    index = 1 if owner == "alice" else 0
    _set_face_id(doc, owner, index, taken, gid)
    message = _refused(tmp_path, json.dumps(doc))
    assert f"persistedFaceId {taken!r} is listed twice (also under groups.team.persons.alice)" \
        in message


def test_a_key_given_twice_in_one_object_is_refused_not_resolved(tmp_path: Path) -> None:
    text = lock_bytes(_state()).decode()
    alice_line = next(line for line in text.splitlines() if line.startswith('"alice":'))
    doubled = text.replace(alice_line, alice_line + "\n,\n" + alice_line)
    assert "the key 'alice' appears twice in one object" in _refused(tmp_path, doubled)


# --- format 1 ---------------------------------------------------------------------------------


def _hex(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _v1_doc() -> dict[str, Any]:
    def person(key: str, n: int) -> dict[str, Any]:
        sha = hashlib.sha256(key.encode()).hexdigest()
        return {"personId": _guid(n), "nameDigest": _hex(key), "userDataDigest": None,
                "faces": [{"detectionModel": "detection_03", "path": f"{key}.jpg",
                           "persistedFaceId": _guid(n * 100), "sha256": sha, "targetFace": None,
                           "userDataDigest": _hex("facesync:sha256=" + sha)}]}

    return {"version": 1, "serial": 2, "endpoint": ENDPOINT, "groups": {"team": {
        "kind": "personGroup", "nameDigest": _hex("Team"), "recognitionModel": "recognition_04",
        "training": {"needsTraining": False, "status": None}, "userDataDigest": None,
        "persons": {"alice": person("alice", 1), "bob": person("bob", 2)}}}}


def test_a_sound_format_1_lock_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.lock.json"
    path.write_text(json.dumps(_v1_doc()))
    assert [p.person_id for p in read_lock(path, ENDPOINT).groups[0].persons] == [_guid(1),
                                                                                  _guid(2)]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["groups"]["team"]["persons"]["bob"].update(personId=ATTACK),
         "groups.team.persons.bob.personId: '../../../persongroups/victim' is not a GUID"),
        (lambda d: d["groups"]["team"]["persons"]["bob"].update(personId=_guid(1)),
         "groups.team.persons.bob.personId: '00000001-0000-4000-8000-000000000001' is also"),
        (lambda d: d["groups"]["team"]["persons"]["bob"]["faces"][0].update(
            persistedFaceId=_guid(100)),
         "groups.team.persons.bob.faces[0].persistedFaceId: persistedFaceId"),
        (lambda d: d["groups"]["team"]["persons"]["bob"]["faces"][0].update(
            persistedFaceId="f/../../x"), "is not a GUID"),
    ],
    ids=["dot-dot", "person-twice", "face-twice", "face-dot-dot"],
)
def test_a_format_1_lock_gets_the_same_checks(tmp_path: Path, edit: Edit, expected: str) -> None:
    doc = _v1_doc()
    edit(doc)
    assert expected in _refused(tmp_path, json.dumps(doc, indent=2))


# --- every other field has its form ---------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["groups"]["team"].update(nameDigest=d["groups"]["team"]["nameDigest"] + "\n"),
        lambda d: d.update(endpoint=ENDPOINT + "\n"),
        lambda d: d["groups"]["team"].update(recognitionModel="recognition_04/../x"),
        lambda d: d["groups"]["team"]["training"].update(status="Succeeded\n"),
        lambda d: _persons(d)["bob"].update(dir="faces/\n"),
    ],
    ids=["digest", "endpoint", "model", "status", "dir"],
)
def test_a_field_out_of_its_form_is_refused(tmp_path: Path, edit: Edit) -> None:
    doc = _doc()
    edit(doc)
    assert "does not match the lock format" in _refused(tmp_path, json.dumps(doc))


def test_a_lock_nested_beyond_reason_is_refused_in_one_line(tmp_path: Path) -> None:
    assert "nests deeper than any lock" in _refused(tmp_path, "[" * 100_000 + "]" * 100_000)


def test_a_schema_message_about_an_odd_key_stays_on_one_line(tmp_path: Path) -> None:
    doc = _doc()
    _persons(doc)["bob"]["x\n\x1b[31mred"] = 1
    assert "does not match the lock format" in _refused(tmp_path, json.dumps(doc))


# --- the checked-lock note ------------------------------------------------------------------


def test_a_note_carried_in_from_elsewhere_does_not_skip_the_checks(tmp_path: Path) -> None:
    """A pull request can carry .facesync/checked-<lock> (git add -f): the note binds the
    digest to this file's inode and times, which no other checkout has."""
    doc = _doc()
    _persons(doc)["alice"]["personId"] = ATTACK
    raw = json.dumps(doc).encode()
    path = tmp_path / "m.lock.json"
    note = lock_check_path(path)
    note.parent.mkdir()
    note.write_text(lock_file._fingerprint(raw, "64769:123456:999:1700000000:1700000000") + "\n")
    assert "is not a GUID" in _refused(tmp_path, raw)


def test_the_note_of_this_file_skips_the_checks_and_an_edit_voids_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.lock.json"
    written = write_lock(path, _state())
    assert read_lock(path, ENDPOINT) == written  # checked, and noted
    monkeypatch.setattr(lock_checks, "_problems", _never)
    monkeypatch.setattr(lock_checks, "_all_ids_sound", _never)
    assert read_lock(path, ENDPOINT) == written  # the note vouches: no check runs
    monkeypatch.undo()
    doc = json.loads(path.read_bytes())
    _persons(doc)["bob"]["personId"] = _guid(1)
    assert "is also the personId of" in _refused(tmp_path, json.dumps(doc))


def _never(_doc: object) -> bool:
    raise AssertionError("checked although the note vouches for these bytes")


def test_a_sound_lock_is_answered_by_the_quick_check_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_checks, "_problems", _never)
    assert first_problem(_doc()) is None
    assert first_problem(_v1_doc()) is None


# --- writing, and saved plans ---------------------------------------------------------------


def test_an_id_the_service_should_never_send_is_never_written(tmp_path: Path) -> None:
    state = _state()
    team = state.groups[0]
    odd = replace(team.persons[0], person_id=ATTACK)
    path = tmp_path / "m.lock.json"
    with pytest.raises(LockFileError) as caught:
        write_lock(path, replace(state, groups=(replace(team, persons=(odd, team.persons[1])),
                                                state.groups[1])))
    assert "refusing to write" in str(caught.value) and "personId" in str(caught.value)
    assert not path.exists()


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("group_id", "team", True), ("group_id", "../team", False),
        ("person_id", _guid(1), True), ("person_id", None, True), ("person_id", ATTACK, False),
        ("persisted_face_id", _guid(0xABC).upper(), False), ("old_persisted_face_id", "x", False),
        ("path", "../anything.jpg", True),
    ],
)
def test_a_saved_payloads_ids_are_checked_by_name(field: str, value: object, ok: bool) -> None:
    assert (id_problem(field, value) is None) is ok
    problem = saved_ids_problem({"kind": "personGroup", field: value})
    assert (problem is None) is ok
    if problem is not None:
        assert problem[0] == field and problem[1].isprintable()


# --- the quick GUID check agrees with the regex -------------------------------------------


def _near_guids(rng: random.Random) -> list[Any]:
    """GUIDs, each perhaps bent by one edit an attacker or an accident might make."""
    out: list[Any] = []
    for _ in range(rng.randrange(1, 6)):
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        edit = rng.randrange(9)
        if edit == 1:
            i = rng.randrange(36)
            guid = guid[:i] + rng.choice("-0aAgz/.\n \u00e9") + guid[i + 1:]
        elif edit == 2:
            guid = guid.upper()
        elif edit == 3:
            guid = guid[:-1]  # 35 characters ...
            out.append(guid)
            guid = "f" + str(uuid.UUID(int=rng.getrandbits(128)))  # ... and 37: 72 in all
        elif edit == 4:
            guid = guid.replace("-", "")[:32] + "----"
        elif edit == 5:
            out.append(rng.choice([None, 7, ["x"]]))
        out.append(guid)
    return out


def test_all_guids_answers_as_one_regex_match_per_id_would() -> None:
    rng = random.Random(9)
    for _ in range(3000):
        ids = _near_guids(rng)
        expected = all(isinstance(i, str) and GUID_RE.fullmatch(i) for i in ids)
        assert all_guids(ids) is bool(expected), ids
    assert all_guids([]) is True


def test_when_the_two_schema_checks_disagree_the_lock_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compiled check said no and jsonschema found nothing (as a trailing newline
    once did: `$` is `\\Z` to one and not to the other): refused, never trusted."""
    monkeypatch.setattr(lock_format, "_fast_check", lambda _part: lambda _doc: False)
    assert lock_format.first_error(_doc()) == "the top level: not valid under the lock schema"
