"""The lock file: deterministic bytes, atomic writes, refusals that never touch it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from facesync import atomic as atomic_module
from facesync.digest import image_key, text_digest
from facesync.errors import LockFileError
from facesync.state import lock_format
from facesync.state.lock_file import lock_bytes, lock_path_for, read_lock, write_lock
from facesync.state.lock_format import marker_digest, state_from_doc
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

ENDPOINT = "https://face.example:443"
HEX_A = "a" * 64
HEX_B = "b" * 64
SHA_A = image_key(HEX_A)  # "qqqqqqqqqqqqqqqqqqqqqg"
SHA_B = image_key(HEX_B)  # "u7u7u7u7u7u7u7u7u7u7uw"
# Ids as the service makes them: lowercase GUIDs (a lock holding anything else is refused).
P_ALICE = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
P_BOB = "22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
F1, F2, F3, F4 = (f"f{n}f{n}f{n}f{n}-0000-4000-8000-00000000000{n}" for n in range(1, 5))


def _usual(sha: str, path: str, face_id: str) -> LockedFace:
    return LockedFace(sha, path, face_id, None, "detection_03", marker_digest(sha))


def _state(serial: int = 0, endpoint: str = ENDPOINT) -> LockState:
    alice = LockedPerson(
        key="alice",
        person_id=P_ALICE,
        name_digest=text_digest("Alice Example") or "",
        user_data_digest=text_digest("facesync:key=alice"),
        faces=(
            _usual(SHA_A, "faces/alice/01.jpg", F1),
            LockedFace(SHA_B, "faces/team.jpg", F2, (10, 20, 120, 130), "detection_01",
                       text_digest("front")),
        ),
    )
    bob = LockedPerson(
        key="bob",
        person_id=P_BOB,
        name_digest=text_digest("bob") or "",
        user_data_digest=text_digest("facesync:key=bob"),
        faces=(_usual(SHA_A, "faces/bob/01.jpg", F3), _usual(SHA_B, "faces/bob/02.jpg", F4)),
    )
    staff = LockedGroup(
        group_id="staff",
        kind="personGroup",
        recognition_model="recognition_04",
        name_digest=text_digest("Staff") or "",
        user_data_digest=None,
        training_status="succeeded",
        needs_training=False,
        persons=(alice, bob),
    )
    return LockState(endpoint=endpoint, serial=serial, groups=(staff,))


# One person per line; the usual face is one text "<image> <persistedFaceId> <path>"
# under the person's folder; a name equal to the key and facesync's own markers are
# left out; everything else is spelled out.
GOLDEN = (
    '{"version":2,"serial":3,"endpoint":"https://face.example:443","groups":{\n'
    '"staff":{"kind":"personGroup","recognitionModel":"recognition_04",'
    f'"nameDigest":"{text_digest("Staff")}",'
    '"training":{"status":"succeeded","needsTraining":false},"persons":{\n'
    f'"alice":{{"personId":"{P_ALICE}","nameDigest":"{text_digest("Alice Example")}",'
    f'"dir":"faces/","faces":["{SHA_A} {F1} alice/01.jpg",{{"sha256":"{SHA_B}",'
    f'"persistedFaceId":"{F2}","path":"team.jpg","targetFace":[10,20,120,130],'
    f'"detectionModel":"detection_01","userDataDigest":"{text_digest("front")}"}}]}}\n'
    ",\n"
    f'"bob":{{"personId":"{P_BOB}","dir":"faces/bob/",'
    f'"faces":["{SHA_A} {F3} 01.jpg","{SHA_B} {F4} 02.jpg"]}}\n'
    "}}\n"
    "}}\n"
)


# --- where and what --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "lock"),
    [
        ("manifests/example.yaml", "manifests/example.lock.json"),
        ("facesync.yml", "facesync.lock.json"),
        ("gallery", "gallery.lock.json"),
    ],
)
def test_a_manifest_locks_to_a_json_file_beside_it(manifest: str, lock: str) -> None:
    assert lock_path_for(Path(manifest)) == Path(lock)


def test_the_bytes_are_one_person_per_line_and_end_with_a_newline() -> None:
    assert lock_bytes(_state(serial=3)).decode() == GOLDEN


def test_the_bytes_are_one_json_document_of_the_same_state() -> None:
    doc = json.loads(lock_bytes(_state(serial=3)))
    assert doc["version"] == 2
    assert state_from_doc(doc) == _state(serial=3)


def test_the_same_state_always_gives_the_same_bytes() -> None:
    assert lock_bytes(_state()) == lock_bytes(_state())


def test_faces_in_any_order_give_the_same_bytes() -> None:
    state = _state()
    staff = state.groups[0]
    bob = staff.persons[1]
    shuffled = replace(bob, faces=bob.faces[::-1])
    assert lock_bytes(replace(state, groups=(replace(staff, persons=(staff.persons[0], shuffled)),))
                      ) == lock_bytes(state)


def test_names_and_user_data_are_recorded_as_digests_only() -> None:
    text = lock_bytes(_state()).decode()
    assert "Alice Example" not in text and "front" not in text


def test_a_usual_face_costs_under_a_hundred_bytes() -> None:
    persons = tuple(
        LockedPerson(f"person-{i:06d}", f"{i:08x}-1111-2222-3333-444444444444",
                     text_digest(f"person-{i:06d}") or "",
                     text_digest(f"facesync:key=person-{i:06d}"),
                     tuple(_usual(image_key(hashlib.sha256(f"{i}/{n}".encode()).hexdigest()),
                                  f"gallery/person-{i:06d}/{n}.jpg",
                                  f"{i:08x}-{n:04x}-2222-3333-444444444444") for n in range(5)))
        for i in range(1000)
    )
    group = LockedGroup("big", "largePersonGroup", "recognition_04", text_digest("big") or "",
                        persons=persons)
    size = len(lock_bytes(LockState(ENDPOINT, 1, (group,))))
    assert size / 5000 < 100  # 100,000 x 5 stays under 50 MB


# --- reading ---------------------------------------------------------------------------------


def test_a_missing_lock_is_an_empty_state(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "x.lock.json", "embedded") == LockState("embedded", 0)


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state(serial=4))
    assert written.serial == 5
    assert read_lock(path, ENDPOINT) == written


def test_writing_the_same_state_twice_differs_only_in_the_serial(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    first = write_lock(path, _state())
    first_bytes = path.read_bytes()
    second = write_lock(path, first)
    assert second.serial == first.serial + 1
    assert path.read_bytes() == first_bytes.replace(b'"serial":1', b'"serial":2')


def _refused(path: Path, content: bytes, endpoint: str = ENDPOINT) -> str:
    path.write_bytes(content)
    with pytest.raises(LockFileError) as caught:
        read_lock(path, endpoint)
    assert path.read_bytes() == content  # never touched
    assert str(path) in str(caught.value)
    return str(caught.value)


def test_a_corrupt_lock_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    message = _refused(tmp_path / "g.lock.json", b'{"version": 2, "serial": ')
    assert "is not valid JSON (line 1, column 26" in message
    assert message.endswith("restore it from Git")


def test_a_lock_from_a_newer_facesync_is_refused(tmp_path: Path) -> None:
    doc = json.loads(lock_bytes(_state()))
    doc["version"] = 3
    doc["newField"] = True
    message = _refused(tmp_path / "g.lock.json", json.dumps(doc).encode())
    assert message.endswith("has version 3, newer than this facesync reads (2); upgrade facesync")


def _alice(d: dict) -> dict:  # type: ignore[type-arg]
    return d["groups"]["staff"]["persons"]["alice"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: _alice(d).pop("personId"),
         "groups.staff.persons.alice: 'personId' is a required property"),
        (lambda d: d["groups"]["staff"].update(kind="team"), "groups.staff.kind"),
        (lambda d: _alice(d)["faces"].__setitem__(0, f"xyz {F1} alice/01.jpg"),
         "groups.staff.persons.alice.faces[0]"),
        (lambda d: _alice(d)["faces"][1].update(sha256="xyz"),
         "groups.staff.persons.alice.faces[1]"),
        (lambda d: _alice(d).update(dir="faces"), "groups.staff.persons.alice.dir"),
        (lambda d: d.update(serial=-1), "at serial:"),
        (lambda d: d.update(endpoint="https://key@face.example:443"), "at endpoint:"),
        (lambda d: d.pop("version"), "at the top level: 'version' is a required property"),
    ],
)
def test_a_lock_that_does_not_match_the_schema_is_refused(tmp_path: Path, edit, where) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(lock_bytes(_state()))
    edit(doc)
    message = _refused(tmp_path / "g.lock.json", json.dumps(doc).encode())
    assert "does not match the lock format" in message and where in message


def test_the_same_image_twice_under_one_person_is_refused(tmp_path: Path) -> None:
    doc = json.loads(lock_bytes(_state()))
    faces = _alice(doc)["faces"]
    faces[1]["sha256"] = SHA_A
    assert "lists the same image twice" in _refused(tmp_path / "g.lock.json",
                                                    json.dumps(doc).encode())


def test_a_lock_for_another_endpoint_is_refused_unless_rebound(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    before = path.read_bytes()
    with pytest.raises(LockFileError) as caught:
        read_lock(path, "http://127.0.0.1:5005")
    assert str(caught.value) == (
        f"the lock file {path} was written for https://face.example:443; "
        "use --rebind to move it to http://127.0.0.1:5005"
    )
    rebound = read_lock(path, "http://127.0.0.1:5005", rebind=True)
    assert rebound.endpoint == "http://127.0.0.1:5005"
    assert rebound.groups == _state().groups
    assert path.read_bytes() == before


def test_an_empty_endpoint_reads_any_lock_as_recorded(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    assert read_lock(path, "", rebind=True).endpoint == ENDPOINT


def test_a_lock_edited_after_facesync_checked_it_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    assert read_lock(path, ENDPOINT).serial == 1  # the same bytes: taken as checked
    doc = json.loads(path.read_bytes())
    _alice(doc)["faces"][0] = f"not-a-key {F1} alice/01.jpg"
    message = _refused(path, json.dumps(doc).encode())
    assert "groups.staff.persons.alice.faces[0]" in message


def test_a_note_of_checked_bytes_that_cannot_be_read_only_costs_a_check(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state())
    read_lock(path, ENDPOINT)  # found valid: noted
    note = tmp_path / ".facesync" / "checked-g.lock.json"
    note.write_bytes(b"\xff garbage")
    assert read_lock(path, ENDPOINT) == written
    assert note.read_text().split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()


# --- format 1 ----------------------------------------------------------------------------------


def _hex(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


V1_LOCK = {
    "endpoint": ENDPOINT,
    "serial": 3,
    "version": 1,
    "groups": {"staff": {
        "kind": "personGroup",
        "nameDigest": _hex("Staff"),
        "recognitionModel": "recognition_04",
        "training": {"needsTraining": False, "status": "succeeded"},
        "userDataDigest": None,
        "persons": {"alice": {
            "personId": P_ALICE,
            "nameDigest": _hex("Alice Example"),
            "userDataDigest": _hex("facesync:key=alice"),
            "faces": [
                {"detectionModel": "detection_03", "path": "faces/alice/01.jpg",
                 "persistedFaceId": F1, "sha256": HEX_A, "targetFace": None,
                 "userDataDigest": _hex("facesync:sha256=" + HEX_A)},
                {"detectionModel": "detection_01", "path": "faces/team.jpg",
                 "persistedFaceId": F2, "sha256": HEX_B, "targetFace": [10, 20, 120, 130],
                 "userDataDigest": _hex("front")},
            ],
        }},
    }},
}


def _v1_path(tmp_path: Path) -> Path:
    path = tmp_path / "g.lock.json"
    path.write_text(json.dumps(V1_LOCK, indent=2, sort_keys=True) + "\n")
    return path


def test_a_format_1_lock_reads_as_the_same_ids_in_todays_digests(tmp_path: Path) -> None:
    state = read_lock(_v1_path(tmp_path), ENDPOINT)
    assert state.version == 1 and state.serial == 3
    (alice,) = state.groups[0].persons
    assert alice.person_id == P_ALICE
    assert alice.name_digest == text_digest("Alice Example")
    assert alice.user_data_digest == text_digest("facesync:key=alice")
    assert alice.faces == _state().groups[0].persons[0].faces
    assert state.groups[0].name_digest == text_digest("Staff")


def test_a_format_1_lock_is_upgraded_by_the_next_write_with_one_notice(tmp_path: Path) -> None:
    path = _v1_path(tmp_path)
    notices: list[str] = []
    written = write_lock(path, read_lock(path, ENDPOINT), notice=notices.append)
    assert notices == [
        f"Upgraded the lock file {path} from format 1 to 2 (same ids, one person per line); "
        "commit it, and use this facesync or newer to read it."
    ]
    assert json.loads(path.read_bytes())["version"] == 2
    assert read_lock(path, ENDPOINT) == written
    write_lock(path, written, notice=notices.append)
    assert len(notices) == 1  # said once


def test_a_damaged_format_1_lock_is_refused_by_the_format_1_rules(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(V1_LOCK))
    doc["groups"]["staff"]["persons"]["alice"]["faces"][0]["sha256"] = "xyz"
    message = _refused(tmp_path / "g.lock.json", json.dumps(doc).encode())
    assert "groups.staff.persons.alice.faces[0].sha256" in message


# --- writing ----------------------------------------------------------------------------------


def test_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_lock(tmp_path / "g.lock.json", _state())
    write_lock(tmp_path / "g.lock.json", _state())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.lock.json"]


def test_a_write_that_fails_half_way_leaves_the_old_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    old = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_module.os, "replace", crash)
    with pytest.raises(OSError):
        write_lock(path, _state(serial=10))
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.lock.json"]


def test_a_state_the_schema_refuses_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    with pytest.raises(LockFileError) as caught:
        write_lock(path, _state(endpoint="https://key@face.example:443"))
    assert "refusing to write the lock file" in str(caught.value)
    assert not path.exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_new_lock_is_the_owners_alone_and_an_existing_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # names and paths: 0600 (issue 9)
    path.chmod(0o644)  # kept readable on purpose, for Git: the user's choice
    write_lock(path, _state())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# --- small diffs and the render cache -------------------------------------------------------


def _gallery(keys: list[str]) -> LockState:
    persons = tuple(
        LockedPerson(k, f"id-{k}", text_digest(k) or "", text_digest("facesync:key=" + k),
                     (_usual(image_key(hashlib.sha256(k.encode()).hexdigest()),
                             f"people/{k}/1.jpg", f"face-{k}"),))
        for k in sorted(keys)
    )
    return LockState(ENDPOINT, 7, (LockedGroup("g", "largePersonGroup", "recognition_04",
                                               text_digest("G") or "", persons=persons),))


def _changed_lines(before: LockState, after: LockState) -> tuple[set[str], set[str]]:
    old = lock_bytes(before).decode().splitlines()
    new = lock_bytes(after).decode().splitlines()
    return set(old) - set(new), set(new) - set(old)


@pytest.mark.parametrize("key", ["aaa", "carol", "zed"])  # first, middle, last in key order
def test_adding_a_person_adds_only_that_persons_line(key: str) -> None:
    before = _gallery(["bob", "dave", "erin"])
    removed, added = _changed_lines(before, _gallery(["bob", "dave", "erin", key]))
    assert removed == set()
    assert [line.startswith(f'"{key}":') for line in added] == [True]


def test_changing_a_persons_faces_changes_that_persons_line_only() -> None:
    before = _gallery(["bob", "dave", "erin"])
    group = before.groups[0]
    dave = group.persons[1]
    extra = _usual(image_key("c" * 64), "people/dave/2.jpg", "face-dave-2")
    after = replace(before, groups=(replace(group, persons=(
        group.persons[0], replace(dave, faces=dave.faces + (extra,)), group.persons[2])),))
    removed, added = _changed_lines(before, after)
    assert [line[:7] for line in removed] == ['"dave":'] and [line[:7] for line in added] == [
        '"dave":']


@pytest.mark.parametrize(
    "state",
    [
        LockState("embedded"),
        _state(),
        LockState("embedded", 2, (
            LockedGroup("empty", "largePersonGroup", "recognition_01", text_digest("E") or ""),
            LockedGroup("zeta", "personGroup", "recognition_04", text_digest("Z") or "",
                        persons=(
                            LockedPerson("b", "p2", text_digest("n") or "", None, (
                                LockedFace(SHA_A, "fotos/Zoë \"quoted\"\n.jpg", "f", None),
                                _usual(SHA_B, "fotos/zwei fotos.jpg", "face id with spaces"),
                            )),
                            LockedPerson("Ünïcode.key", "p", text_digest("n") or ""),
                        )),
        )),
    ],
    ids=["empty", "one group", "odd names"],
)
def test_the_cached_bytes_read_back_as_the_same_state(state: LockState) -> None:
    first = lock_bytes(state)
    assert json.loads(first) is not None and state_from_doc(json.loads(first)) == state
    assert lock_bytes(state) == first  # and again, from the cache
    lock_format._RENDERED.clear()
    assert lock_bytes(state) == first  # and rendered afresh


def test_a_person_changed_after_caching_is_written_as_it_now_is(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state())
    staff = written.groups[0]
    alice = staff.persons[0]
    renamed = replace(alice, faces=(replace(alice.faces[0], path="faces/alice/new.jpg"),
                                    alice.faces[1]))
    state = replace(written, groups=(replace(staff, persons=(renamed, staff.persons[1])),))
    write_lock(path, state)
    assert "alice/new.jpg" in path.read_text()
    assert read_lock(path, ENDPOINT) == replace(state, serial=state.serial + 1)


def test_an_invalid_person_is_caught_on_write_even_after_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state())
    staff = written.groups[0]
    broken = replace(staff.persons[0], person_id="")
    with pytest.raises(LockFileError) as caught:
        write_lock(path, replace(written, groups=(replace(staff, persons=(broken,
                                                                          staff.persons[1])),)))
    assert "groups.staff.persons.alice.personId" in str(caught.value)
