"""Persisted faces: add (binary and URL bodies), get, update, delete."""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .support import (
    GUID_RE,
    Api,
    Kind,
    Photos,
    add_face,
    create_person,
    expect_empty,
    expect_error,
    expect_json,
)

OBAMA = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"


@pytest.fixture
def person(api: Api, kind: Kind, group: str) -> str:
    return create_person(api, kind, group, "Barack")


def faces_path(kind: Kind, group: str, person: str, *rest: str) -> str:
    return kind.path(group, "persons", person, "persistedfaces", *rest)


def face_ids_of(api: Api, kind: Kind, group: str, person: str) -> list[str]:
    got = expect_json(api.get(kind.path(group, "persons", person)))
    return sorted(got["persistedFaceIds"])


def test_adding_a_binary_image_returns_a_guid_the_person_then_lists(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    resp = api.post_image(faces_path(kind, group, person), photos.bytes(OBAMA))
    body = expect_json(resp)
    assert list(body) == ["persistedFaceId"]
    assert re.match(GUID_RE, body["persistedFaceId"])
    assert face_ids_of(api, kind, group, person) == [body["persistedFaceId"]]


def test_a_face_reads_back_with_the_user_data_given_on_add(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    face_id = add_face(api, kind, group, person, photos.small_face, userData="left profile & co")
    got = expect_json(api.get(faces_path(kind, group, person, face_id)))
    assert got == {"persistedFaceId": face_id, "userData": "left profile & co"}


def test_an_unset_face_user_data_is_omitted_or_null(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    face_id = add_face(api, kind, group, person, photos.small_face)
    got = expect_json(api.get(faces_path(kind, group, person, face_id)))
    assert got["persistedFaceId"] == face_id
    assert got.get("userData") is None


def test_the_same_image_twice_makes_two_faces(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    first = add_face(api, kind, group, person, photos.small_face)
    second = add_face(api, kind, group, person, photos.small_face)
    assert first != second
    assert face_ids_of(api, kind, group, person) == sorted([first, second])


def test_face_user_data_up_to_1024_chars_is_accepted_and_1025_refused(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    face_id = add_face(api, kind, group, person, photos.small_face, userData="\u00e9" * 1024)
    got = expect_json(api.get(faces_path(kind, group, person, face_id)))
    assert got["userData"] == "\u00e9" * 1024
    resp = api.post_image(faces_path(kind, group, person), photos.small_face, userData="u" * 1025)
    expect_error(resp, 400, "BadArgument", "'userData' is too long.")
    assert face_ids_of(api, kind, group, person) == [face_id]


@pytest.mark.parametrize("model", ["detection_01", "detection_02", "detection_03"])
def test_every_detection_model_is_accepted(
    api: Api, kind: Kind, group: str, person: str, photos: Photos, model: str
) -> None:
    add_face(api, kind, group, person, photos.bytes(OBAMA), detectionModel=model)
    assert len(face_ids_of(api, kind, group, person)) == 1


def test_an_unknown_detection_model_is_refused(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    resp = api.post_image(faces_path(kind, group, person), photos.small_face, detectionModel="d9")
    expect_error(resp, 400, "BadArgument", "'detectionModel' is invalid.")


def test_update_replaces_the_user_data_with_an_empty_200(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    face_id = add_face(api, kind, group, person, photos.small_face, userData="old")
    path = faces_path(kind, group, person, face_id)
    expect_empty(api.patch(path, json={"userData": "new"}))
    assert expect_json(api.get(path)) == {"persistedFaceId": face_id, "userData": "new"}


def test_update_refuses_face_user_data_over_1024_chars(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    face_id = add_face(api, kind, group, person, photos.small_face, userData="old")
    path = faces_path(kind, group, person, face_id)
    expect_error(
        api.patch(path, json={"userData": "u" * 1025}),
        400,
        "BadArgument",
        "'userData' is too long.",
    )
    assert expect_json(api.get(path))["userData"] == "old"


def test_delete_answers_200_empty_and_the_face_is_gone(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    keep = add_face(api, kind, group, person, photos.small_face)
    drop = add_face(api, kind, group, person, photos.small_face)
    expect_empty(api.delete(faces_path(kind, group, person, drop)))
    assert face_ids_of(api, kind, group, person) == [keep]
    resp = api.get(faces_path(kind, group, person, drop))
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "PersistedFaceNotFound"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_missing_face_is_404_persisted_face_not_found(
    api: Api, kind: Kind, group: str, person: str, method: str
) -> None:
    face_id = str(uuid.uuid4())
    resp = api.call(method, faces_path(kind, group, person, face_id), json={"userData": "x"})
    assert resp.status_code == 404
    assert resp.json() in (
        {"error": {"code": "PersistedFaceNotFound", "message": "Persisted face is not found."}},
        {
            "error": {
                "code": "PersistedFaceNotFound",
                "message": f"Persisted face {face_id} is not found.",
            }
        },
    )


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_face_id_that_is_not_a_guid_is_404_invalid(
    api: Api, kind: Kind, group: str, person: str, method: str
) -> None:
    resp = api.call(method, faces_path(kind, group, person, "face-1"), json={"userData": "x"})
    expect_error(resp, 404, "PersistedFaceNotFound", "Persisted face ID is invalid.")


def test_a_face_of_another_person_is_not_found_under_this_one(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    other = create_person(api, kind, group, "Other")
    face_id = add_face(api, kind, group, other, photos.small_face)
    resp = api.get(faces_path(kind, group, person, face_id))
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "PersistedFaceNotFound"


def test_adding_to_a_missing_person_or_group_is_404(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    missing = str(uuid.uuid4())
    resp = api.post_image(faces_path(kind, group, missing), photos.small_face)
    expect_error(resp, 404, "PersonNotFound", f"Person {missing} is not found.")
    resp = api.post_image(faces_path(kind, "no-such-group-x", missing), photos.small_face)
    expect_error(resp, 404, kind.not_found, kind.msg_not_found())


def test_a_person_holds_248_faces_and_the_249th_is_quota_exceeded(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    for _ in range(248):
        add_face(api, kind, group, person, photos.small_face)
    resp = api.post_image(faces_path(kind, group, person), photos.small_face)
    expect_error(resp, 403, "QuotaExceeded", "Persisted face number reached limit.")
    assert len(face_ids_of(api, kind, group, person)) == 248


# ---- the JSON {"url": ...} body ------------------------------------------------


@pytest.fixture(scope="module")
def loopback_site(photos: Photos) -> Iterator[str]:
    """Serve the shrunk photos over HTTP on 127.0.0.1, as a local file server would."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(photos.folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def add_by_url(api: Api, kind: Kind, group: str, person: str, url: str):
    return api.post(faces_path(kind, group, person), json={"url": url})


def test_a_file_url_is_accepted(
    api: Api, kind: Kind, group: str, person: str, photos: Photos
) -> None:
    resp = add_by_url(api, kind, group, person, photos.path(OBAMA).as_uri())
    face_id = expect_json(resp)["persistedFaceId"]
    assert face_ids_of(api, kind, group, person) == [face_id]


def test_a_loopback_http_url_is_accepted(
    api: Api, kind: Kind, group: str, person: str, loopback_site: str
) -> None:
    resp = add_by_url(api, kind, group, person, f"{loopback_site}/{OBAMA}")
    face_id = expect_json(resp)["persistedFaceId"]
    assert face_ids_of(api, kind, group, person) == [face_id]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/face.jpg",
        "http://10.0.0.1/face.jpg",
        "ftp://127.0.0.1/face.jpg",
        "not a url",
        "",
    ],
)
def test_a_url_that_is_neither_a_file_nor_loopback_is_invalid_url(
    api: Api, kind: Kind, group: str, person: str, url: str
) -> None:
    resp = add_by_url(api, kind, group, person, url)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "InvalidURL"
    assert error["message"].startswith("Invalid image URL")
    assert face_ids_of(api, kind, group, person) == []


def test_a_url_that_cannot_be_fetched_is_invalid_url(
    api: Api, kind: Kind, group: str, person: str, photos: Photos, loopback_site: str
) -> None:
    for url in (
        (photos.folder / "missing.jpg").as_uri(),
        f"{loopback_site}/missing.jpg",
    ):
        resp = add_by_url(api, kind, group, person, url)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == "InvalidURL"


def test_a_json_body_without_a_url_is_refused(
    api: Api, kind: Kind, group: str, person: str
) -> None:
    resp = api.post(faces_path(kind, group, person), json={"link": "file:///x.jpg"})
    expect_error(resp, 400, "BadArgument", "Request body is invalid.")
