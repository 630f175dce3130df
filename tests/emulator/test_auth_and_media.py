"""Keys, media types and malformed JSON on every kind of call."""

from __future__ import annotations

import pytest

from .support import (
    PERSON_GROUP,
    Api,
    Photos,
    add_face,
    create_group,
    create_person,
    expect_error,
    expect_json,
    fresh_id,
)

ALL_CALLS = [
    ("GET", "/persongroups"),
    ("PUT", "/persongroups/auth-test"),
    ("GET", "/persongroups/auth-test"),
    ("DELETE", "/persongroups/auth-test"),
    ("POST", "/persongroups/auth-test/train"),
    ("GET", "/largepersongroups"),
    ("POST", "/persongroups/auth-test/persons"),
    ("POST", "/detect"),
    ("POST", "/identify"),
]


def expect_access_denied(resp) -> None:
    assert resp.status_code == 401, resp.text
    error = resp.json()["error"]
    assert error["code"] == "401"
    assert error["message"].startswith("Access denied due to invalid subscription key")


@pytest.mark.parametrize(("method", "path"), ALL_CALLS)
def test_a_missing_key_is_401(api: Api, method: str, path: str) -> None:
    resp = api.session.request(method, api.base + path, json={"name": "x"}, timeout=10)
    expect_access_denied(resp)


@pytest.mark.parametrize(("method", "path"), ALL_CALLS)
def test_a_wrong_key_is_401(api: Api, method: str, path: str) -> None:
    expect_access_denied(api.call(method, path, json={"name": "x"}, key="w" * 32))


def test_a_refused_key_changes_nothing(api: Api) -> None:
    group = fresh_id()
    expect_access_denied(api.put(f"/persongroups/{group}", json={"name": "x"}, key="wrong"))
    assert api.get(f"/persongroups/{group}").status_code == 404


def test_a_key_that_differs_only_in_case_is_refused(api: Api) -> None:
    expect_access_denied(api.get("/persongroups", key=api.key.upper()))


@pytest.fixture
def ids(api: Api, photos: Photos) -> dict[str, str]:
    kind = PERSON_GROUP
    group = create_group(api, kind)
    person = create_person(api, kind, group)
    face = add_face(api, kind, group, person, photos.small_face)
    return {"g": group, "p": person, "f": face}


JSON_CALLS = [
    ("PUT", "/persongroups/{new}"),
    ("PATCH", "/persongroups/{g}"),
    ("POST", "/persongroups/{g}/persons"),
    ("PATCH", "/persongroups/{g}/persons/{p}"),
    ("PATCH", "/persongroups/{g}/persons/{p}/persistedfaces/{f}"),
    ("PUT", "/largepersongroups/{new}"),
    ("POST", "/identify"),
]


@pytest.mark.parametrize(("method", "template"), JSON_CALLS)
@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_call_with_another_media_type_is_415(
    api: Api, ids: dict[str, str], method: str, template: str, media: str
) -> None:
    path = template.format(new=fresh_id(), **ids)
    resp = api.call(method, path, data='{"name": "x"}', headers={"Content-Type": media})
    expect_error(resp, 415, "BadArgument", "Invalid Media Type.")


@pytest.mark.parametrize(
    "path", ["/persongroups/{g}/persons/{p}/persistedfaces", "/detect"], ids=["add-face", "detect"]
)
@pytest.mark.parametrize("media", ["text/plain", "image/svg+xml", "multipart/form-data"])
def test_an_image_call_with_another_media_type_is_415(
    api: Api, ids: dict[str, str], photos: Photos, path: str, media: str
) -> None:
    resp = api.post(path.format(**ids), data=photos.small_face, headers={"Content-Type": media})
    expect_error(resp, 415, "BadArgument", "Invalid Media Type.")
    person = expect_json(api.get("/persongroups/{g}/persons/{p}".format(**ids)))
    assert person["persistedFaceIds"] == [ids["f"]]


@pytest.mark.parametrize(("method", "template"), JSON_CALLS)
@pytest.mark.parametrize("body", ['{"name": "x"', "{name: 'x'}", "not json", '{"name": "x"}}'])
def test_malformed_json_is_a_json_parsing_error(
    api: Api, ids: dict[str, str], method: str, template: str, body: str
) -> None:
    path = template.format(new=fresh_id(), **ids)
    resp = api.call(method, path, data=body, headers={"Content-Type": "application/json"})
    expect_error(resp, 400, "BadArgument", "JSON parsing error.")


def test_a_json_charset_parameter_is_still_json(api: Api) -> None:
    group = fresh_id()
    resp = api.put(
        f"/persongroups/{group}",
        data=b'{"name": "Staff"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 200, resp.text
    assert expect_json(api.get(f"/persongroups/{group}"))["name"] == "Staff"


@pytest.mark.parametrize("body", ["", "[]", '"Staff"', "42", "null", '{"name": ["Staff"]}'])
def test_json_of_the_wrong_shape_is_an_invalid_body(api: Api, body: str) -> None:
    group = fresh_id()
    resp = api.put(
        f"/persongroups/{group}", data=body, headers={"Content-Type": "application/json"}
    )
    expect_error(resp, 400, "BadArgument", "Request body is invalid.")
    assert api.get(f"/persongroups/{group}").status_code == 404


def test_path_segments_match_case_insensitively(api: Api, photos: Photos) -> None:
    kind = PERSON_GROUP
    group = create_group(api, kind)
    person = create_person(api, kind, group)
    resp = api.post_image(
        f"/persongroups/{group}/persons/{person}/persistedFaces", photos.small_face
    )
    face = expect_json(resp)["persistedFaceId"]
    got = expect_json(api.get(f"/PersonGroups/{group}/Persons/{person}/persistedFaces/{face}"))
    assert got["persistedFaceId"] == face
