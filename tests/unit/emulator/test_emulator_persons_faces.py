from __future__ import annotations

import threading

import pytest

from facesync.emulator import errors
from facesync.emulator.kinds import LARGE_PERSON_GROUP, PERSON_GROUP
from facesync.emulator.models import FaceService, Quotas
from facesync.limits import FACES_PER_PERSON_MAX

from .fakes import FakeVision, unit_vector
from .support import assert_error

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def staff(service: FaceService) -> FaceService:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})
    return service


def add(service: FaceService, person_id: str, image: bytes, **query: str) -> str:
    return service.add_face(PERSON_GROUP, "staff", person_id, lambda: image, query)


def test_a_new_person_has_no_faces(staff: FaceService) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann", "userData": "x"})

    person, faces = staff.get_person(PERSON_GROUP, "staff", person_id)

    assert (person.name, person.user_data, faces) == ("Ann", "x", [])


def test_person_ids_are_lowercase_guids_and_uppercase_finds_them(staff: FaceService) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})

    assert person_id == person_id.lower() and len(person_id) == 36
    assert staff.get_person(PERSON_GROUP, "staff", person_id.upper())[0].person_id == person_id


def test_a_non_guid_person_id_is_invalid_and_an_unknown_one_not_found(staff: FaceService) -> None:
    assert_error(errors.PERSON_ID_INVALID, staff.get_person, PERSON_GROUP, "staff", "ann")
    assert_error(
        errors.PERSON_NOT_FOUND, staff.get_person, PERSON_GROUP, "staff", MISSING,
        person_id=MISSING,
    )  # fmt: skip


def test_a_person_of_another_group_is_not_found_here(staff: FaceService) -> None:
    staff.create_group(PERSON_GROUP, "other", {"name": "Other"})
    person_id = staff.create_person(PERSON_GROUP, "other", {"name": "Ann"})

    assert_error(
        errors.PERSON_NOT_FOUND, staff.get_person, PERSON_GROUP, "staff", person_id,
        person_id=person_id,
    )  # fmt: skip


def test_persons_list_sorted_by_id_with_their_faces(staff: FaceService, fake_vision) -> None:
    ids = [staff.create_person(PERSON_GROUP, "staff", {"name": f"p{n}"}) for n in range(5)]
    face_id = add(staff, ids[0], fake_vision.face(1))

    listed = staff.list_persons(PERSON_GROUP, "staff", None, "3")
    after = staff.list_persons(PERSON_GROUP, "staff", listed[-1][0].person_id.upper(), None)

    assert [p.person_id for p, _ in listed + after] == sorted(ids)
    assert dict((p.person_id, faces) for p, faces in listed + after)[ids[0]] == [face_id]


def test_person_quota_of_the_group_comes_before_the_subscriptions(store, fake_vision) -> None:
    service = FaceService(store, "free", fake_vision.analyse)
    service.quotas = Quotas(10, 2, 2, 3, 3)
    for group in ("a", "b"):
        service.create_group(PERSON_GROUP, group, {"name": group})
    service.create_person(PERSON_GROUP, "a", {"name": "1"})
    service.create_person(PERSON_GROUP, "a", {"name": "2"})
    service.create_person(PERSON_GROUP, "b", {"name": "3"})

    assert_error(
        errors.PERSON_GROUP_LEVEL_QUOTA, service.create_person, PERSON_GROUP, "a",
        {"name": "x"}, kind=PERSON_GROUP,
    )  # fmt: skip
    assert_error(
        errors.PERSON_SUBSCRIPTION_QUOTA, service.create_person, PERSON_GROUP, "b", {"name": "x"}
    )


def test_the_large_group_quota_message_names_the_large_group(store, fake_vision) -> None:
    service = FaceService(store, "free", fake_vision.analyse)
    service.quotas = Quotas(10, 1, 1, 5, 5)
    service.create_group(LARGE_PERSON_GROUP, "big", {"name": "big"})
    service.create_person(LARGE_PERSON_GROUP, "big", {"name": "1"})

    error = assert_error(
        errors.PERSON_GROUP_LEVEL_QUOTA, service.create_person, LARGE_PERSON_GROUP, "big",
        {"name": "x"}, kind=LARGE_PERSON_GROUP,
    )  # fmt: skip
    assert error.message == "Person number reached large person group level limit."


def test_a_face_keeps_its_user_data_and_rectangle(staff: FaceService, fake_vision) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})

    face_id = add(staff, person_id, fake_vision.face(1), userData="front", detectionModel="")

    face = staff.get_face(PERSON_GROUP, "staff", person_id, face_id)
    assert (face.user_data, face.left, face.width, face.detection_model) == (
        "front",
        100,
        200,
        "detection_01",
    )


@pytest.mark.parametrize(
    ("scene_faces", "query", "spec"),
    [
        (0, {}, errors.NO_FACE),
        (2, {}, errors.MORE_THAN_ONE_FACE),
        (1, {"targetFace": "1,2,3"}, errors.TARGET_FACE_INVALID),
        (1, {"targetFace": "1,2,0,4"}, errors.TARGET_FACE_INVALID),
        (1, {"targetFace": "-1,2,3,4"}, errors.TARGET_FACE_INVALID),
        (1, {"targetFace": "700,500,200,200"}, errors.TARGET_FACE_OUT_OF_RANGE),
        (1, {"targetFace": "500,400,100,100"}, errors.NO_FACE),
        (1, {"detectionModel": "detection_04"}, errors.DETECTION_MODEL_INVALID),
        (1, {"userData": "u" * 1025}, errors.USER_DATA_TOO_LONG),
    ],
)
def test_add_face_rules(staff: FaceService, fake_vision, scene_faces, query, spec) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    faces = [((100 + 300 * n, 100, 200, 200), unit_vector(n)) for n in range(scene_faces)]
    image = fake_vision.image(*faces)

    assert_error(spec, lambda: add(staff, person_id, image, **query))


def test_target_face_picks_one_face_of_a_group_photo(staff: FaceService, fake_vision) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    image = fake_vision.image(
        ((100, 100, 200, 200), unit_vector(1)), ((400, 100, 200, 200), unit_vector(2))
    )

    face_id = add(staff, person_id, image, targetFace="390,90,220,220")

    assert staff.get_face(PERSON_GROUP, "staff", person_id, face_id).left == 400
    assert_error(
        errors.MORE_THAN_ONE_FACE, lambda: add(staff, person_id, image, targetFace="0,0,800,600")
    )


def test_image_size_rules_come_from_the_bytes(staff: FaceService) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})

    assert_error(errors.IMAGE_TOO_SMALL, add, staff, person_id, b"x" * 1023)
    assert_error(errors.IMAGE_TOO_BIG, add, staff, person_id, b"x" * (6 * 1024 * 1024 + 1))


def test_the_249th_face_is_refused(staff: FaceService, fake_vision) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    image = fake_vision.face(1)
    for _ in range(FACES_PER_PERSON_MAX):
        add(staff, person_id, image)

    assert_error(errors.FACE_QUOTA, add, staff, person_id, image)


def test_a_missing_person_is_reported_before_the_image_is_read(staff: FaceService) -> None:
    def image() -> bytes:
        raise AssertionError("the image must not be fetched")

    assert_error(
        errors.PERSON_NOT_FOUND, staff.add_face, PERSON_GROUP, "staff", MISSING, image, {},
        person_id=MISSING,
    )  # fmt: skip


def test_concurrent_adds_to_one_person_stop_exactly_at_the_quota(
    staff: FaceService, fake_vision: FakeVision
) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    image = fake_vision.face(1)
    for _ in range(FACES_PER_PERSON_MAX - 5):
        add(staff, person_id, image)
    outcomes: list[str] = []

    def add_one() -> None:
        try:
            add(staff, person_id, image)
            outcomes.append("added")
        except Exception as error:  # noqa: BLE001
            outcomes.append(getattr(error, "code", repr(error)))

    threads = [threading.Thread(target=add_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["QuotaExceeded"] * 7 + ["added"] * 5


def test_face_update_and_delete(staff: FaceService, fake_vision) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    face_id = add(staff, person_id, fake_vision.face(1))

    staff.update_face(PERSON_GROUP, "staff", person_id, face_id, {"userData": "new"})
    assert staff.get_face(PERSON_GROUP, "staff", person_id, face_id).user_data == "new"
    staff.delete_face(PERSON_GROUP, "staff", person_id, face_id)

    assert_error(
        errors.PERSISTED_FACE_NOT_FOUND, staff.get_face, PERSON_GROUP, "staff", person_id,
        face_id, face_id=face_id,
    )  # fmt: skip
    assert_error(errors.FACE_ID_INVALID, staff.get_face, PERSON_GROUP, "staff", person_id, "f1")


def test_deleting_a_person_deletes_its_faces(staff: FaceService, fake_vision) -> None:
    person_id = staff.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    add(staff, person_id, fake_vision.face(1))

    staff.delete_person(PERSON_GROUP, "staff", person_id)

    with staff.store.read() as tx:
        assert tx.count_faces(person_id) == 0
