"""What every FaceBackend must do, asserted
through the Protocol's methods only."""

from __future__ import annotations

import re
import time

import pytest

from facesync.backends.base import FaceBackend, TrainingInfo
from facesync.errors import ApiError

PG, LPG = "personGroup", "largePersonGroup"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING_GUID = "0badc0de-0000-4000-8000-000000000000"


def api_error(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def wait_for_training(backend: FaceBackend, kind: str, gid: str) -> TrainingInfo:
    deadline = time.monotonic() + 60
    while True:
        info = backend.get_training_status(kind, gid)
        if info.status in ("succeeded", "failed") or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


# --- groups -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PG, LPG])
def test_a_created_group_reads_back_with_its_recognition_model(backend, gid, kind):
    backend.create_group(kind, gid, "Staff", "free text", "recognition_04")
    info = backend.get_group(kind, gid)
    assert (info.group_id, info.name, info.user_data) == (gid, "Staff", "free text")
    assert info.recognition_model == "recognition_04"


@pytest.mark.parametrize(
    ("kind", "code"), [(PG, "PersonGroupExists"), (LPG, "LargePersonGroupExists")]
)
def test_creating_a_group_twice_is_a_conflict_never_an_upsert(backend, gid, kind, code):
    backend.create_group(kind, gid, "First", None, "recognition_04")
    error = api_error(lambda: backend.create_group(kind, gid, "Second", None, "recognition_04"))
    assert (error.status, error.code) == (409, code)
    assert backend.get_group(kind, gid).name == "First"


def test_a_malformed_group_id_is_refused_on_create(backend):
    error = api_error(lambda: backend.create_group(PG, "Bad Id!", "X", None, "recognition_04"))
    assert (error.status, error.code) == (400, "BadArgument")


@pytest.mark.parametrize(
    ("kind", "code"), [(PG, "PersonGroupNotFound"), (LPG, "LargePersonGroupNotFound")]
)
def test_a_missing_group_is_a_404_of_its_kind_for_every_operation(backend, gid, kind, code):
    calls = [
        lambda: backend.get_group(kind, gid),
        lambda: backend.update_group(kind, gid, "X", None),
        lambda: backend.delete_group(kind, gid),
        lambda: backend.train_group(kind, gid),
        lambda: backend.list_persons(kind, gid),
        lambda: backend.create_person(kind, gid, "X", None),
    ]
    for call in calls:
        error = api_error(call)
        assert (error.status, error.code) == (404, code)


def test_the_two_kinds_are_separate_namespaces(backend, gid):
    backend.create_group(LPG, gid, "Large", None, "recognition_04")
    assert gid in [g.group_id for g in backend.list_groups(LPG)]
    assert gid not in [g.group_id for g in backend.list_groups(PG)]
    assert api_error(lambda: backend.get_group(PG, gid)).status == 404


def test_groups_are_listed_sorted_by_id_across_pages(backend, gid):
    backend.page_size = 2
    ids = [f"{gid}-{n}" for n in ("c", "a", "e", "b", "d")]
    for group_id in ids:
        backend.create_group(PG, group_id, group_id, None, "recognition_03")
    listed = [g.group_id for g in backend.list_groups(PG)]
    assert listed == sorted(listed)
    assert [g for g in listed if g.startswith(gid)] == sorted(ids)
    mine = {g.group_id: g for g in backend.list_groups(PG) if g.group_id.startswith(gid)}
    assert {g.recognition_model for g in mine.values()} == {"recognition_03"}


def test_an_update_changes_only_what_it_names(backend, gid):
    backend.create_group(PG, gid, "Old", "keep me", "recognition_04")
    backend.update_group(PG, gid, "New", None)
    info = backend.get_group(PG, gid)
    assert (info.name, info.user_data) == ("New", "keep me")


def test_deleting_a_group_deletes_its_persons(backend, gid):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    backend.create_person(PG, gid, "Alice", None)
    backend.delete_group(PG, gid)
    assert api_error(lambda: backend.get_group(PG, gid)).code == "PersonGroupNotFound"
    backend.create_group(PG, gid, "G again", None, "recognition_04")
    assert backend.list_persons(PG, gid) == []


# --- persons ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PG, LPG])
def test_a_person_gets_a_lowercase_guid_and_reads_back(backend, gid, kind):
    backend.create_group(kind, gid, "G", None, "recognition_04")
    person_id = backend.create_person(kind, gid, "Alice", "facesync:key=alice")
    assert GUID.match(person_id)
    person = backend.get_person(kind, gid, person_id)
    assert (person.name, person.user_data, person.persisted_face_ids) == (
        "Alice", "facesync:key=alice", ()
    )  # fmt: skip


def test_persons_are_listed_sorted_by_id_across_pages(backend, gid):
    backend.page_size = 2
    backend.create_group(PG, gid, "G", None, "recognition_04")
    made = {backend.create_person(PG, gid, f"P{n}", None) for n in range(5)}
    listed = [p.person_id for p in backend.list_persons(PG, gid)]
    assert listed == sorted(made)


def test_a_person_update_changes_only_what_it_names(backend, gid):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Alice", "note")
    backend.update_person(PG, gid, person_id, None, "new note")
    person = backend.get_person(PG, gid, person_id)
    assert (person.name, person.user_data) == ("Alice", "new note")


@pytest.mark.parametrize("person_id", [MISSING_GUID, "not-a-guid"])
@pytest.mark.parametrize("operation", ["get_person", "delete_person", "update_person"])
def test_a_missing_or_malformed_person_is_a_404(backend, gid, person_id, operation):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    extra = ("X", None) if operation == "update_person" else ()
    error = api_error(lambda: getattr(backend, operation)(PG, gid, person_id, *extra))
    assert (error.status, error.code) == (404, "PersonNotFound")


@pytest.mark.parametrize("name", ["", "x" * 129])
def test_a_person_name_is_required_and_bounded(backend, gid, name):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    error = api_error(lambda: backend.create_person(PG, gid, name, None))
    assert (error.status, error.code) == (400, "BadArgument")


def test_a_deleted_person_is_gone(backend, gid):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Alice", None)
    backend.delete_person(PG, gid, person_id)
    assert backend.list_persons(PG, gid) == []
    assert api_error(lambda: backend.get_person(PG, gid, person_id)).code == "PersonNotFound"


# --- faces ----------------------------------------------------------------------------------


def test_a_face_gets_an_id_listed_under_its_person(backend, gid, faces):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Koch", None)
    face_id = backend.add_face(PG, gid, person_id, faces["koch"], user_data="facesync:sha256=ab",
                               detection_model="detection_03")  # fmt: skip
    assert GUID.match(face_id)
    assert backend.get_person(PG, gid, person_id).persisted_face_ids == (face_id,)
    assert [p.persisted_face_ids for p in backend.list_persons(PG, gid)] == [(face_id,)]
    face = backend.get_face(PG, gid, person_id, face_id)
    assert (face.persisted_face_id, face.user_data) == (face_id, "facesync:sha256=ab")


def test_a_face_user_data_update_and_delete(backend, gid, faces):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Koch", None)
    face_id = backend.add_face(PG, gid, person_id, faces["koch"])
    backend.update_face(PG, gid, person_id, face_id, "note")
    assert backend.get_face(PG, gid, person_id, face_id).user_data == "note"
    backend.delete_face(PG, gid, person_id, face_id)
    error = api_error(lambda: backend.get_face(PG, gid, person_id, face_id))
    assert (error.status, error.code) == (404, "PersistedFaceNotFound")
    assert backend.get_person(PG, gid, person_id).persisted_face_ids == ()


def test_a_person_holds_248_faces_and_the_249th_is_refused(backend, gid, faces):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Koch", None)
    for _ in range(248):
        backend.add_face(PG, gid, person_id, faces["koch"])
    error = api_error(lambda: backend.add_face(PG, gid, person_id, faces["koch"]))
    assert (error.status, error.code) == (403, "QuotaExceeded")
    assert len(backend.get_person(PG, gid, person_id).persisted_face_ids) == 248


def test_an_image_under_one_kilobyte_is_refused(backend, gid):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    person_id = backend.create_person(PG, gid, "Tiny", None)
    error = api_error(lambda: backend.add_face(PG, gid, person_id, b"\xff\xd8\xff" + b"0" * 100))
    assert (error.status, error.code) == (400, "InvalidImageSize")


def test_a_face_for_a_missing_person_is_a_404(backend, gid, faces):
    backend.create_group(PG, gid, "G", None, "recognition_04")
    error = api_error(lambda: backend.add_face(PG, gid, MISSING_GUID, faces["koch"]))
    assert (error.status, error.code) == (404, "PersonNotFound")


# --- training and recognition ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"), [(PG, "PersonGroupNotTrained"), (LPG, "LargePersonGroupNotTrained")]
)
def test_a_never_trained_group_has_no_training_status(backend, gid, kind, code):
    backend.create_group(kind, gid, "G", None, "recognition_04")
    error = api_error(lambda: backend.get_training_status(kind, gid))
    assert (error.status, error.code) == (404, code)


def test_training_runs_to_success_and_identify_names_the_person(backend, gid, faces):
    backend.create_group(PG, gid, "Crew", None, "recognition_04")
    ids = {}
    for name, image in sorted(faces.items()):
        ids[name] = backend.create_person(PG, gid, name, None)
        backend.add_face(PG, gid, ids[name], image, detection_model="detection_03")
    backend.train_group(PG, gid)
    info = wait_for_training(backend, PG, gid)
    assert info.status == "succeeded"
    (detected,) = backend.detect(faces["hansen"], recognition_model="recognition_04",
                                 detection_model="detection_03")  # fmt: skip
    (result,) = backend.identify([detected.face_id], PG, gid, max_candidates=1)
    assert [c.person_id for c in result.candidates] == [ids["hansen"]]
    assert 0.5 <= result.candidates[0].confidence <= 1.0
