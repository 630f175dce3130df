"""Persons of a group: create, get, update, delete, list."""

from __future__ import annotations

import re
import uuid

import pytest

from .support import (
    GUID_RE,
    Api,
    Kind,
    Photos,
    add_face,
    create_group,
    create_person,
    expect_empty,
    expect_error,
    expect_json,
)


def test_a_created_person_gets_a_guid_and_reads_back_without_faces(
    api: Api, kind: Kind, group: str
) -> None:
    resp = api.post(kind.path(group, "persons"), json={"name": "Ann", "userData": "badge 7"})
    body = expect_json(resp)
    assert list(body) == ["personId"]
    assert re.match(GUID_RE, body["personId"])
    got = expect_json(api.get(kind.path(group, "persons", body["personId"])))
    assert got == {
        "personId": body["personId"],
        "name": "Ann",
        "userData": "badge 7",
        "persistedFaceIds": [],
    }


def test_every_person_gets_a_new_id(api: Api, kind: Kind, group: str) -> None:
    ids = {create_person(api, kind, group, "Same") for _ in range(3)}
    assert len(ids) == 3


def test_an_unset_person_user_data_is_omitted_or_null(api: Api, kind: Kind, group: str) -> None:
    person_id = create_person(api, kind, group)
    assert expect_json(api.get(kind.path(group, "persons", person_id))).get("userData") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ""}, "'name' is empty."),
        ({}, "'name' is empty."),
        ({"name": "n" * 129}, "'name' is too long."),
        ({"name": "x", "userData": "u" * 16385}, "'userData' is too long."),
    ],
    ids=["empty-name", "no-name", "name-129", "userData-16385"],
)
def test_person_name_and_user_data_sizes_are_enforced(
    api: Api, kind: Kind, group: str, body: dict, message: str
) -> None:
    resp = api.post(kind.path(group, "persons"), json=body)
    expect_error(resp, 400, "BadArgument", message)
    assert expect_json(api.get(kind.path(group, "persons"))) == []


def test_the_largest_person_name_and_user_data_are_accepted(
    api: Api, kind: Kind, group: str
) -> None:
    name, user_data = "\u00e9" * 128, "u" * 16384
    person_id = create_person(api, kind, group, name, userData=user_data)
    got = expect_json(api.get(kind.path(group, "persons", person_id)))
    assert (got["name"], got["userData"]) == (name, user_data)


def test_update_changes_only_the_fields_it_sends(api: Api, kind: Kind, group: str) -> None:
    person_id = create_person(api, kind, group, "Old", userData="keep")
    path = kind.path(group, "persons", person_id)
    expect_empty(api.patch(path, json={"name": "New"}))
    got = expect_json(api.get(path))
    assert (got["name"], got["userData"]) == ("New", "keep")
    expect_empty(api.patch(path, json={"userData": "changed"}))
    got = expect_json(api.get(path))
    assert (got["name"], got["userData"]) == ("New", "changed")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "n" * 129}, "'name' is too long."),
        ({"userData": "u" * 16385}, "'userData' is too long."),
        ({"name": ""}, "'name' is empty."),
    ],
    ids=["name-129", "userData-16385", "empty-name"],
)
def test_person_update_enforces_the_sizes(
    api: Api, kind: Kind, group: str, body: dict, message: str
) -> None:
    path = kind.path(group, "persons", create_person(api, kind, group, "Kept"))
    expect_error(api.patch(path, json=body), 400, "BadArgument", message)
    assert expect_json(api.get(path))["name"] == "Kept"


def test_delete_answers_200_empty_and_the_person_is_gone(api: Api, kind: Kind, group: str) -> None:
    person_id = create_person(api, kind, group)
    path = kind.path(group, "persons", person_id)
    expect_empty(api.delete(path))
    gone = f"Person {person_id} is not found."
    expect_error(api.get(path), 404, "PersonNotFound", gone)
    expect_error(api.delete(path), 404, "PersonNotFound", gone)
    assert expect_json(api.get(kind.path(group, "persons"))) == []


def test_delete_takes_the_faces_with_it(api: Api, kind: Kind, group: str, photos: Photos) -> None:
    person_id = create_person(api, kind, group)
    face_id = add_face(api, kind, group, person_id, photos.small_face)
    expect_empty(api.delete(kind.path(group, "persons", person_id)))
    resp = api.get(kind.path(group, "persons", person_id, "persistedfaces", face_id))
    assert resp.status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/persistedfaces/" + str(uuid.UUID(int=1))),
    ],
)
def test_a_missing_person_is_404_with_its_id(
    api: Api, kind: Kind, group: str, method: str, suffix: str
) -> None:
    person_id = str(uuid.uuid4())
    resp = api.call(method, kind.path(group, "persons", person_id) + suffix, json={"name": "x"})
    expect_error(resp, 404, "PersonNotFound", f"Person {person_id} is not found.")


@pytest.mark.parametrize("person_id", ["ann", "1234", "not-a-guid", str(uuid.uuid4())[:-1]])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_person_id_that_is_not_a_guid_is_404_invalid(
    api: Api, kind: Kind, group: str, person_id: str, method: str
) -> None:
    resp = api.call(method, kind.path(group, "persons", person_id), json={"name": "x"})
    expect_error(resp, 404, "PersonNotFound", "Person ID is invalid.")


def test_a_person_of_another_group_is_not_found_here(api: Api, kind: Kind, group: str) -> None:
    other = create_group(api, kind)
    person_id = create_person(api, kind, other)
    resp = api.get(kind.path(group, "persons", person_id))
    expect_error(resp, 404, "PersonNotFound", f"Person {person_id} is not found.")


def test_persons_list_sorted_by_id_with_their_faces(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    ids = [create_person(api, kind, group, f"P{i}") for i in range(5)]
    faces = {ids[0]: [add_face(api, kind, group, ids[0], photos.small_face) for _ in range(2)]}
    got = expect_json(api.get(kind.path(group, "persons")))
    assert [p["personId"] for p in got] == sorted(ids)
    for person in got:
        assert sorted(person["persistedFaceIds"]) == sorted(faces.get(person["personId"], []))
        assert person["name"] == f"P{ids.index(person['personId'])}"


def test_persons_page_by_start_and_top(api: Api, kind: Kind, group: str) -> None:
    ids = sorted(create_person(api, kind, group, f"P{i}") for i in range(5))

    def page(**params: object) -> list[str]:
        return [
            p["personId"] for p in expect_json(api.get(kind.path(group, "persons"), params=params))
        ]

    assert page(top=2) == ids[:2]
    assert page(start=ids[1], top=2) == ids[2:4]
    assert page(start=ids[3]) == ids[4:]
    assert page(start=ids[4]) == []
    assert page(start="") == ids


@pytest.mark.parametrize("top", ["0", "1001", "-5", "x", str(10**30)])
def test_a_persons_top_outside_1_to_1000_is_refused(
    api: Api, kind: Kind, group: str, top: str
) -> None:
    resp = api.get(kind.path(group, "persons"), params={"top": top})
    expect_error(resp, 400, "BadArgument", "'top' is invalid.")
