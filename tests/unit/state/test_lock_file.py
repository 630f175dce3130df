"""The lock file: deterministic bytes, atomic writes, refusals that never touch it."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from string import Template

import pytest

from facesync import atomic as atomic_module
from facesync.digest import text_digest
from facesync.errors import LockFileError
from facesync.state.lock_file import lock_bytes, lock_path_for, lock_to_doc, read_lock, write_lock
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

ENDPOINT = "https://face.example:443"
SHA_A = "a" * 64
SHA_B = "b" * 64


def _state(serial: int = 0, endpoint: str = ENDPOINT) -> LockState:
    alice = LockedPerson(
        key="alice",
        person_id="11111111-aaaa",
        name_digest=text_digest("Alice Example") or "",
        user_data_digest=text_digest("facesync:key=alice"),
        faces=(
            LockedFace(SHA_A, "faces/alice/01.jpg", "f-1", None, "detection_03",
                       text_digest("facesync:sha256=" + SHA_A)),
            LockedFace(SHA_B, "faces/team.jpg", "f-2", (10, 20, 120, 130), "detection_01",
                       text_digest("front")),
        ),
    )
    staff = LockedGroup(
        group_id="staff",
        kind="personGroup",
        recognition_model="recognition_04",
        name_digest=text_digest("Staff") or "",
        user_data_digest=None,
        training_status="succeeded",
        needs_training=False,
        persons=(alice,),
    )
    return LockState(endpoint=endpoint, serial=serial, groups=(staff,))


GOLDEN = Template("""\
{
  "endpoint": "https://face.example:443",
  "groups": {
    "staff": {
      "kind": "personGroup",
      "nameDigest": "$staff",
      "persons": {
        "alice": {
          "faces": [
            {
              "detectionModel": "detection_03",
              "path": "faces/alice/01.jpg",
              "persistedFaceId": "f-1",
              "sha256": "$sha_a",
              "targetFace": null,
              "userDataDigest": "$marker"
            },
            {
              "detectionModel": "detection_01",
              "path": "faces/team.jpg",
              "persistedFaceId": "f-2",
              "sha256": "$sha_b",
              "targetFace": [
                10,
                20,
                120,
                130
              ],
              "userDataDigest": "$front"
            }
          ],
          "nameDigest": "$alice",
          "personId": "11111111-aaaa",
          "userDataDigest": "$alice_marker"
        }
      },
      "recognitionModel": "recognition_04",
      "training": {
        "needsTraining": false,
        "status": "succeeded"
      },
      "userDataDigest": null
    }
  },
  "serial": 3,
  "version": 1
}
""").substitute(
    staff=text_digest("Staff"),
    alice=text_digest("Alice Example"),
    alice_marker=text_digest("facesync:key=alice"),
    marker=text_digest("facesync:sha256=" + SHA_A),
    front=text_digest("front"),
    sha_a=SHA_A,
    sha_b=SHA_B,
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


def test_the_bytes_are_sorted_indented_by_two_and_end_with_a_newline() -> None:
    assert lock_bytes(_state(serial=3)).decode() == GOLDEN


def test_the_same_state_always_gives_the_same_bytes() -> None:
    assert lock_bytes(_state()) == lock_bytes(_state())


def test_names_and_user_data_are_recorded_as_digests_only() -> None:
    text = lock_bytes(_state()).decode()
    assert "Alice Example" not in text and "front" not in text


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
    assert path.read_bytes() == first_bytes.replace(b'"serial": 1', b'"serial": 2')


def _refused(path: Path, content: bytes, endpoint: str = ENDPOINT) -> str:
    path.write_bytes(content)
    with pytest.raises(LockFileError) as caught:
        read_lock(path, endpoint)
    assert path.read_bytes() == content  # never touched
    assert str(path) in str(caught.value)
    return str(caught.value)


def test_a_corrupt_lock_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    message = _refused(tmp_path / "g.lock.json", b'{"version": 1, "serial": ')
    assert "is not valid JSON (line 1, column 26" in message
    assert message.endswith("restore it from Git")


def test_a_lock_from_a_newer_facesync_is_refused(tmp_path: Path) -> None:
    doc = json.loads(lock_bytes(_state()))
    doc["version"] = 2
    doc["newField"] = True
    message = _refused(tmp_path / "g.lock.json", json.dumps(doc).encode())
    assert message.endswith("has version 2, newer than this facesync reads (1); upgrade facesync")


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["groups"]["staff"]["persons"]["alice"].pop("personId"),
         "groups.staff.persons.alice: 'personId' is a required property"),
        (lambda d: d["groups"]["staff"].update(kind="team"), "groups.staff.kind"),
        (lambda d: d["groups"]["staff"]["persons"]["alice"]["faces"][0].update(sha256="xyz"),
         "groups.staff.persons.alice.faces[0].sha256"),
        (lambda d: d.update(serial=-1), "at serial:"),
        (lambda d: d.update(endpoint="https://key@face.example:443"), "at endpoint:"),
    ],
)
def test_a_lock_that_does_not_match_the_schema_is_refused(tmp_path: Path, edit, where) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(lock_bytes(_state()))
    edit(doc)
    message = _refused(tmp_path / "g.lock.json", json.dumps(doc).encode())
    assert "does not match the lock format" in message and where in message


def test_the_same_image_twice_under_one_person_is_refused(tmp_path: Path) -> None:
    doc = json.loads(lock_bytes(_state()))
    faces = doc["groups"]["staff"]["persons"]["alice"]["faces"]
    faces[1]["sha256"] = faces[0]["sha256"]
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
def test_a_new_lock_is_readable_by_all_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    write_lock(path, _state())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    write_lock(path, _state())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- the cached serialisation is the plain one ---------------------------------------------


def _plain(state: LockState) -> bytes:
    return (json.dumps(lock_to_doc(state), sort_keys=True, indent=2, ensure_ascii=False)
            + "\n").encode()


@pytest.mark.parametrize(
    "state",
    [
        LockState("embedded"),
        _state(),
        LockState("embedded", 2, (
            LockedGroup("empty", "largePersonGroup", "recognition_01", text_digest("E") or ""),
            LockedGroup("zeta", "personGroup", "recognition_04", text_digest("Z") or "",
                        persons=(
                            LockedPerson("Ünïcode.key", "p", text_digest("n") or ""),
                            LockedPerson("b", "p2", text_digest("n") or "", None, (
                                LockedFace(SHA_A, "fotos/Zoë \"quoted\"\n.jpg", "f", None),
                            )),
                        )),
        )),
    ],
    ids=["empty", "one group", "odd names"],
)
def test_the_cached_bytes_equal_one_plain_json_dump(state: LockState) -> None:
    assert lock_bytes(state) == _plain(state)
    assert lock_bytes(state) == _plain(state)  # and again, from the cache


def test_a_person_changed_after_caching_is_written_as_it_now_is(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state())
    staff = written.groups[0]
    alice = staff.persons[0]
    renamed = replace(alice, faces=(replace(alice.faces[0], path="faces/alice/new.jpg"),
                                    alice.faces[1]))
    state = replace(written, groups=(replace(staff, persons=(renamed,)),))
    write_lock(path, state)
    assert "faces/alice/new.jpg" in path.read_text()
    assert path.read_bytes() == _plain(replace(state, serial=state.serial + 1))


def test_an_invalid_person_is_caught_on_write_even_after_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "g.lock.json"
    written = write_lock(path, _state())
    staff = written.groups[0]
    broken = replace(staff.persons[0], person_id="")
    with pytest.raises(LockFileError) as caught:
        write_lock(path, replace(written, groups=(replace(staff, persons=(broken,)),)))
    assert "groups.staff.persons.alice.personId" in str(caught.value)
