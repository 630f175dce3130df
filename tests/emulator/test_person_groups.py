"""PersonGroup and LargePersonGroup: create, get, update, delete, list."""

from __future__ import annotations

import pytest

from .support import (
    LARGE_PERSON_GROUP,
    Api,
    Kind,
    create_group,
    create_person,
    expect_empty,
    expect_error,
    expect_json,
    fresh_id,
)

RECOGNITION_MODELS = ["recognition_01", "recognition_02", "recognition_03", "recognition_04"]


def test_a_created_group_answers_200_with_an_empty_body_and_reads_back(
    api: Api, kind: Kind
) -> None:
    group_id = fresh_id()
    expect_empty(api.put(kind.path(group_id), json={"name": "Staff", "userData": "hq"}))
    got = expect_json(api.get(kind.path(group_id)))
    assert got == {kind.id_field: group_id, "name": "Staff", "userData": "hq"}


def test_get_returns_the_recognition_model_only_when_asked(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind, recognitionModel="recognition_04")
    asked = expect_json(api.get(kind.path(group_id), params={"returnRecognitionModel": "true"}))
    assert asked["recognitionModel"] == "recognition_04"
    assert "recognitionModel" not in expect_json(api.get(kind.path(group_id)))
    not_asked = api.get(kind.path(group_id), params={"returnRecognitionModel": "false"})
    assert "recognitionModel" not in expect_json(not_asked)


def test_the_recognition_model_defaults_to_recognition_01(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind)
    got = expect_json(api.get(kind.path(group_id), params={"returnRecognitionModel": "true"}))
    assert got["recognitionModel"] == "recognition_01"


@pytest.mark.parametrize("model", RECOGNITION_MODELS)
def test_every_recognition_model_is_accepted(api: Api, kind: Kind, model: str) -> None:
    group_id = create_group(api, kind, recognitionModel=model)
    got = expect_json(api.get(kind.path(group_id), params={"returnRecognitionModel": "true"}))
    assert got["recognitionModel"] == model


def test_an_unknown_recognition_model_is_refused(api: Api, kind: Kind) -> None:
    resp = api.put(kind.path(fresh_id()), json={"name": "x", "recognitionModel": "recognition_9"})
    expect_error(resp, 400, "BadArgument", "'recognitionModel' is invalid.")


def test_an_unset_user_data_is_omitted_or_null(api: Api, kind: Kind) -> None:
    got = expect_json(api.get(kind.path(create_group(api, kind))))
    assert got.get("userData") is None


def test_creating_an_existing_group_is_a_409_never_an_upsert(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind, name="First")
    resp = api.put(kind.path(group_id), json={"name": "Second"})
    expect_error(resp, 409, kind.exists, kind.msg_exists())
    assert expect_json(api.get(kind.path(group_id)))["name"] == "First"


@pytest.mark.parametrize("group_id", ["a", "0", "x" * 64, "a-b_c-0", "-", "_"])
def test_ids_of_the_contract_charset_up_to_64_chars_are_accepted(
    api: Api, kind: Kind, group_id: str
) -> None:
    expect_empty(api.put(kind.path(group_id), json={"name": "x"}))
    assert expect_json(api.get(kind.path(group_id)))[kind.id_field] == group_id


BAD_IDS = ["Staff", "a.b", "a b", "x" * 65, "caf\u00e9", "a+b", "a~b"]


@pytest.mark.parametrize("group_id", BAD_IDS)
def test_a_malformed_id_is_400_on_create(api: Api, kind: Kind, group_id: str) -> None:
    resp = api.put(kind.path(group_id), json={"name": "x"})
    expect_error(resp, 400, "BadArgument", kind.msg_invalid_id())


@pytest.mark.parametrize("group_id", BAD_IDS)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/train"),
        ("GET", "/training"),
        ("GET", "/persons"),
        ("POST", "/persons"),
    ],
)
def test_a_malformed_id_is_404_everywhere_else(
    api: Api, kind: Kind, group_id: str, method: str, suffix: str
) -> None:
    resp = api.call(method, kind.path(group_id) + suffix, json={"name": "x"})
    expect_error(resp, 404, kind.not_found, kind.msg_invalid_id())


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/train"),
        ("GET", "/training"),
        ("GET", "/persons"),
        ("POST", "/persons"),
    ],
)
def test_a_missing_group_is_404_not_found(api: Api, kind: Kind, method: str, suffix: str) -> None:
    resp = api.call(method, kind.path(fresh_id()) + suffix, json={"name": "x"})
    expect_error(resp, 404, kind.not_found, kind.msg_not_found())


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
def test_name_and_user_data_sizes_are_enforced_on_create(
    api: Api, kind: Kind, body: dict, message: str
) -> None:
    group_id = fresh_id()
    expect_error(api.put(kind.path(group_id), json=body), 400, "BadArgument", message)
    expect_error(api.get(kind.path(group_id)), 404, kind.not_found, kind.msg_not_found())


def test_the_largest_name_and_user_data_are_accepted_counted_in_characters(
    api: Api, kind: Kind
) -> None:
    name, user_data = "\u00e9" * 128, "\u00fc" * 16384  # two UTF-8 bytes each
    group_id = create_group(api, kind, name=name, userData=user_data)
    got = expect_json(api.get(kind.path(group_id)))
    assert (got["name"], got["userData"]) == (name, user_data)


def test_update_changes_only_the_fields_it_sends(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind, name="Old", userData="keep")
    expect_empty(api.patch(kind.path(group_id), json={"name": "New"}))
    assert expect_json(api.get(kind.path(group_id))) == {
        kind.id_field: group_id,
        "name": "New",
        "userData": "keep",
    }
    expect_empty(api.patch(kind.path(group_id), json={"userData": "changed"}))
    got = expect_json(api.get(kind.path(group_id)))
    assert (got["name"], got["userData"]) == ("New", "changed")


def test_update_never_changes_the_recognition_model(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind, recognitionModel="recognition_04")
    api.patch(kind.path(group_id), json={"name": "n", "recognitionModel": "recognition_01"})
    got = expect_json(api.get(kind.path(group_id), params={"returnRecognitionModel": "true"}))
    assert got["recognitionModel"] == "recognition_04"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "n" * 129}, "'name' is too long."),
        ({"userData": "u" * 16385}, "'userData' is too long."),
        ({"name": ""}, "'name' is empty."),
    ],
    ids=["name-129", "userData-16385", "empty-name"],
)
def test_update_enforces_the_sizes(api: Api, kind: Kind, body: dict, message: str) -> None:
    group_id = create_group(api, kind, name="Kept")
    expect_error(api.patch(kind.path(group_id), json=body), 400, "BadArgument", message)
    assert expect_json(api.get(kind.path(group_id)))["name"] == "Kept"


def test_a_large_group_update_with_neither_field_is_refused(api: Api) -> None:
    kind = LARGE_PERSON_GROUP
    group_id = create_group(api, kind)
    resp = api.patch(kind.path(group_id), json={})
    expect_error(resp, 400, "BadArgument", "Both 'name' and 'userData' are empty.")


def test_delete_answers_200_empty_and_the_group_is_gone(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind)
    expect_empty(api.delete(kind.path(group_id)))
    expect_error(api.get(kind.path(group_id)), 404, kind.not_found, kind.msg_not_found())
    expect_error(api.delete(kind.path(group_id)), 404, kind.not_found, kind.msg_not_found())


def test_delete_takes_the_persons_with_it(api: Api, kind: Kind) -> None:
    group_id = create_group(api, kind)
    person_id = create_person(api, kind, group_id)
    expect_empty(api.delete(kind.path(group_id)))
    create_group(api, kind, group_id)
    assert expect_json(api.get(kind.path(group_id, "persons"))) == []
    resp = api.get(kind.path(group_id, "persons", person_id))
    expect_error(resp, 404, "PersonNotFound", f"Person {person_id} is not found.")
