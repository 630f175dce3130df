"""Hostile requests get the right 4xx, never a 500, and the server keeps serving."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .support import (
    KEY_HEADER,
    PERSON_GROUP,
    Api,
    Photos,
    create_group,
    create_person,
    expect_error,
    expect_json,
    fresh_id,
)


@pytest.fixture(autouse=True)
def server_still_serves(api: Api) -> Iterator[None]:
    yield
    assert api.get("/persongroups", params={"top": 1}, timeout=10).status_code == 200


def raw(emulator: Any, method: str, path: str, body: bytes = b"", **headers: str) -> tuple:
    """Send exactly this path (no client-side normalisation); return (status, JSON or text)."""
    where = urlsplit(emulator.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        sent = {KEY_HEADER: emulator.key, "Content-Type": "application/json", **headers}
        conn.request(method, "/face/v1.0" + path, body=body, headers=sent)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data.decode("latin-1")


def is_client_error(status: int) -> bool:
    return 400 <= status < 500


TRICKS = [
    "..",
    "../persongroups",
    "%2e%2e",
    "%2E%2E%2Fpersongroups",
    "..%2f..%2fetc%2fpasswd",
    "a%00b",
    "%ff%fe",
    "a%2fb",
    "%20",
    "x" * 5000,
]


@pytest.mark.parametrize("trick", TRICKS, ids=range(len(TRICKS)))
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_path_tricks_in_group_ids_are_refused_as_4xx(
    emulator: Any, trick: str, method: str
) -> None:
    status, body = raw(emulator, method, "/persongroups/" + trick, b'{"name": "x"}')
    assert is_client_error(status), (status, body)


@pytest.mark.parametrize("trick", ["..", "%2e%2e", "..%2f..", "x" * 5000, "%00"])
def test_path_tricks_in_person_and_face_ids_are_refused_as_4xx(
    emulator: Any, api: Api, trick: str
) -> None:
    group = create_group(api, PERSON_GROUP)
    person = create_person(api, PERSON_GROUP, group)
    for path in (
        f"/persongroups/{group}/persons/{trick}",
        f"/persongroups/{group}/persons/{person}/persistedfaces/{trick}",
    ):
        status, body = raw(emulator, "GET", path)
        assert is_client_error(status), (path, status, body)


def test_an_encoded_traversal_never_reaches_another_group(emulator: Any, api: Api) -> None:
    group = create_group(api, PERSON_GROUP)
    for path in (f"/persongroups/x/..%2f{group}", f"/persongroups/x%2f..%2f{group}"):
        status, body = raw(emulator, "DELETE", path)
        assert is_client_error(status), (path, status, body)
    assert api.get(f"/persongroups/{group}").status_code == 200


def test_a_very_long_group_id_is_400_on_create_and_404_on_get(api: Api) -> None:
    long_id = "a" * 10_000
    resp = api.put(f"/persongroups/{long_id}", json={"name": "x"})
    expect_error(resp, 400, "BadArgument", "Person group ID is invalid.")
    resp = api.get(f"/persongroups/{long_id}")
    expect_error(resp, 404, "PersonGroupNotFound", "Person group ID is invalid.")


@pytest.mark.parametrize("top", [str(2**63), str(10**100), "1e3", "0x10", "NaN", " 5"])
def test_a_huge_or_odd_top_is_refused(api: Api, top: str) -> None:
    resp = api.get("/persongroups", params={"top": top})
    expect_error(resp, 400, "BadArgument", "'top' is invalid.")


ODD_NAMES = [
    "\u202eevil\u202c",  # right-to-left override
    "\u200d\u200b\ufeff",  # zero-width joiner, space, BOM
    "e\u0301\u0301\u0301",  # stacked combining accents
    "\U0001f600\U0001f469\u200d\U0001f4bb",  # emoji and a ZWJ sequence
    "\u4e2d\u6587 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "tab\tnew\nline",
    "nul\u0000byte",
    "<script>alert(1)</script>",
    "'; DROP TABLE persons; --",
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=range(len(ODD_NAMES)))
def test_odd_unicode_names_round_trip(api: Api, name: str) -> None:
    group = create_group(api, PERSON_GROUP, name=name, userData=name)
    got = expect_json(api.get(f"/persongroups/{group}"))
    assert (got["name"], got["userData"]) == (name, name)
    person = create_person(api, PERSON_GROUP, group, name)
    assert expect_json(api.get(f"/persongroups/{group}/persons/{person}"))["name"] == name


def test_a_lone_surrogate_in_json_is_never_a_500(emulator: Any, api: Api) -> None:
    group = fresh_id()
    status, body = raw(emulator, "PUT", f"/persongroups/{group}", b'{"name": "\\ud800x"}')
    assert status in (200, 400), (status, body)
    if status == 200:
        assert expect_json(api.get(f"/persongroups/{group}"))["name"]


def test_invalid_utf8_in_json_is_a_json_parsing_error(emulator: Any) -> None:
    status, body = raw(emulator, "PUT", f"/persongroups/{fresh_id()}", b'{"name": "\xff\xfe"}')
    assert (status, body) == (
        400,
        {"error": {"code": "BadArgument", "message": "JSON parsing error."}},
    )


def test_deeply_nested_json_is_refused_without_a_500(emulator: Any) -> None:
    body = b'{"name": "x", "userData": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, answer = raw(emulator, "PUT", f"/persongroups/{fresh_id()}", body)
    assert status == 400, (status, answer)
    assert answer["error"]["code"] == "BadArgument"


@pytest.mark.parametrize("field", ["name", "userData"])
def test_a_non_string_field_is_a_bad_argument(api: Api, field: str) -> None:
    body = {"name": "x", field: {"nested": [1, 2]}}
    resp = api.put(f"/persongroups/{fresh_id()}", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "BadArgument"


def test_an_oversized_json_body_is_refused(api: Api) -> None:
    group = fresh_id()
    resp = api.put(f"/persongroups/{group}", json={"name": "x", "userData": "u" * 20_000_000})
    assert is_client_error(resp.status_code), resp.status_code
    assert api.get(f"/persongroups/{group}").status_code == 404


def test_an_oversized_image_body_is_refused(api: Api, photos: Photos) -> None:
    resp = api.post_image("/detect", photos.small_face + b"\0" * 30_000_000)
    expect_error(resp, 400, "InvalidImageSize", "Image size is too big.")


def test_a_content_length_shorter_than_the_body_is_a_4xx(emulator: Any) -> None:
    status, _ = raw(
        emulator,
        "PUT",
        f"/persongroups/{fresh_id()}",
        b'{"name": "x"}',
        **{"Content-Length": "5"},
    )
    assert is_client_error(status)


def test_a_decompression_bomb_is_refused_as_a_4xx(api: Api, bomb: bytes) -> None:
    resp = api.post_image("/detect", bomb, timeout=20)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] in ("InvalidImage", "InvalidImageSize")


def test_a_decompression_bomb_is_never_added_as_a_face(api: Api, bomb: bytes) -> None:
    group = create_group(api, PERSON_GROUP)
    person = create_person(api, PERSON_GROUP, group)
    path = f"/persongroups/{group}/persons/{person}/persistedfaces"
    resp = api.post_image(path, bomb, timeout=20)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] in ("InvalidImage", "InvalidImageSize")
    assert expect_json(api.get(f"/persongroups/{group}/persons/{person}"))["persistedFaceIds"] == []
