from __future__ import annotations

import pytest

from facesync.emulator import errors
from facesync.emulator.kinds import KINDS, LARGE_PERSON_GROUP, PERSON_GROUP
from facesync.emulator.models import FaceService, Quotas

from .support import assert_error


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_created_group_reads_back_with_its_model(service: FaceService, kind) -> None:
    service.create_group(kind, "staff", {"name": "Staff", "recognitionModel": "recognition_04"})

    group = service.get_group(kind, "staff")

    assert (group.name, group.user_data, group.recognition_model) == (
        "Staff",
        None,
        "recognition_04",
    )


def test_the_default_recognition_model_is_recognition_01(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})

    assert service.get_group(PERSON_GROUP, "staff").recognition_model == "recognition_01"


@pytest.mark.parametrize("group_id", ["Staff", "a b", "x" * 65, "", "staff\n", "é"])
def test_a_malformed_id_is_400_on_create_and_404_elsewhere(service: FaceService, group_id) -> None:
    assert_error(
        errors.GROUP_ID_INVALID_ON_CREATE,
        service.create_group,
        PERSON_GROUP,
        group_id,
        {"name": "x"},
        kind=PERSON_GROUP,
    )
    assert_error(
        errors.GROUP_ID_INVALID, service.get_group, PERSON_GROUP, group_id, kind=PERSON_GROUP
    )
    assert_error(
        errors.GROUP_ID_INVALID, service.delete_group, LARGE_PERSON_GROUP, group_id,
        kind=LARGE_PERSON_GROUP,
    )  # fmt: skip


def test_creating_an_existing_group_is_a_conflict_not_an_upsert(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})

    assert_error(
        errors.GROUP_EXISTS, service.create_group, PERSON_GROUP, "staff", {"name": "New"},
        kind=PERSON_GROUP,
    )  # fmt: skip
    assert service.get_group(PERSON_GROUP, "staff").name == "Staff"


@pytest.mark.parametrize(
    ("body", "spec"),
    [
        ({}, errors.NAME_EMPTY),
        ({"name": "   "}, errors.NAME_EMPTY),
        ({"name": "x" * 129}, errors.NAME_TOO_LONG),
        ({"name": "\U0001f600" * 65}, errors.NAME_TOO_LONG),  # 130 UTF-16 code units
        ({"name": "x", "userData": "u" * 16385}, errors.USER_DATA_TOO_LONG),
        ({"name": "x", "recognitionModel": "recognition_05"}, errors.RECOGNITION_MODEL_INVALID),
        ({"name": 5}, errors.BODY_INVALID),
        ([], errors.BODY_INVALID),
        ({"name": "\ud800"}, errors.BODY_INVALID),
    ],
)
def test_bad_create_bodies_get_the_services_error(service: FaceService, body, spec) -> None:
    assert_error(spec, service.create_group, PERSON_GROUP, "staff", body)


def test_the_longest_legal_name_and_user_data_are_accepted(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "n" * 128, "userData": "u" * 16384})

    assert len(service.get_group(PERSON_GROUP, "staff").user_data or "") == 16384


def test_a_missing_group_is_404(service: FaceService) -> None:
    assert_error(errors.GROUP_NOT_FOUND, service.get_group, PERSON_GROUP, "nope", kind=PERSON_GROUP)
    assert_error(
        errors.GROUP_NOT_FOUND, service.get_group, LARGE_PERSON_GROUP, "nope",
        kind=LARGE_PERSON_GROUP,
    )  # fmt: skip


def test_update_changes_only_the_fields_sent(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff", "userData": "keep"})

    service.update_group(PERSON_GROUP, "staff", {"name": "Team"})

    group = service.get_group(PERSON_GROUP, "staff")
    assert (group.name, group.user_data) == ("Team", "keep")


def test_an_empty_update_is_refused_for_large_groups_only(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})
    service.create_group(LARGE_PERSON_GROUP, "staff", {"name": "Staff"})

    service.update_group(PERSON_GROUP, "staff", {})
    assert_error(
        errors.NAME_AND_USER_DATA_EMPTY, service.update_group, LARGE_PERSON_GROUP, "staff", {}
    )


def test_groups_list_in_id_order_with_start_and_top(service: FaceService) -> None:
    for number in (3, 1, 5, 2, 4):
        service.create_group(PERSON_GROUP, f"group{number}", {"name": "g"})

    first = service.list_groups(PERSON_GROUP, "", "2")
    rest = service.list_groups(PERSON_GROUP, "group2", "3")

    assert [g.group_id for g in first] == ["group1", "group2"]
    assert [g.group_id for g in rest] == ["group3", "group4", "group5"]


def test_the_two_kinds_are_separate_namespaces(service: FaceService) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Small"})
    service.create_group(LARGE_PERSON_GROUP, "staff", {"name": "Large"})

    assert [g.name for g in service.list_groups(LARGE_PERSON_GROUP, None, None)] == ["Large"]


@pytest.mark.parametrize(
    ("start", "top", "spec"),
    [
        ("a" * 65, None, errors.START_TOO_LONG),
        (None, "0", errors.TOP_INVALID),
        (None, "1001", errors.TOP_INVALID),
        (None, "99999999999999999999999", errors.TOP_INVALID),
        (None, "ten", errors.TOP_INVALID),
    ],
)
def test_bad_paging_arguments_are_400(service: FaceService, start, top, spec) -> None:
    assert_error(spec, service.list_groups, PERSON_GROUP, start, top)


def test_group_quota_is_403(store, fake_vision) -> None:
    service = FaceService(store, "free", fake_vision.analyse)
    service.quotas = Quotas(2, 1000, 1000, 1000, 1000)
    service.create_group(PERSON_GROUP, "a", {"name": "a"})
    service.create_group(PERSON_GROUP, "b", {"name": "b"})

    assert_error(
        errors.GROUP_QUOTA, service.create_group, PERSON_GROUP, "c", {"name": "c"},
        kind=PERSON_GROUP,
    )  # fmt: skip


def test_deleting_a_group_deletes_its_persons_and_faces(service: FaceService, fake_vision) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})
    person_id = service.create_person(PERSON_GROUP, "staff", {"name": "Ann"})
    service.add_face(PERSON_GROUP, "staff", person_id, lambda: fake_vision.face(1), {})

    service.delete_group(PERSON_GROUP, "staff")
    service.create_group(PERSON_GROUP, "staff", {"name": "Again"})

    assert service.list_persons(PERSON_GROUP, "staff", None, None) == []
    with service.store.read() as tx:
        assert tx.count_group_faces(PERSON_GROUP.name, "staff") == 0
