"""What the HTTP client puts on the wire and how it reads answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from facesync.backends.http import HttpBackend, parse_training
from facesync.errors import ApiError, ConfigError

from .stub_server import Reply, StubServer, error

KEY = "k-wire-secret-9876"


@pytest.fixture
def client(server: StubServer) -> Iterator[HttpBackend]:
    backend = HttpBackend(server.url, KEY, sleep=lambda s: None)
    yield backend
    backend.close()


@pytest.mark.parametrize("suffix", ["", "/", "/face/v1.0", "/face/v1.0/"])
def test_the_endpoint_may_be_given_with_a_slash_or_the_api_path(server, suffix):
    backend = HttpBackend(server.url + suffix, KEY)
    server.then(Reply(200, []))
    backend.list_groups("personGroup")
    assert server.seen[0].path == "/face/v1.0/persongroups"
    backend.close()


def test_an_endpoint_that_is_not_a_url_is_a_config_error():
    with pytest.raises(ConfigError, match="not an http"):
        HttpBackend("cognitiveservices.azure.com", KEY)


def test_the_key_travels_in_its_header(server, client):
    server.then(Reply(200, []))
    client.list_groups("largePersonGroup")
    seen = server.seen[0]
    assert seen.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert seen.path == "/face/v1.0/largepersongroups"
    assert seen.query["returnRecognitionModel"] == "true"


def test_create_group_puts_name_user_data_and_model(server, client):
    client.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("PUT", "/face/v1.0/persongroups/staff")
    assert json.loads(seen.body) == {"name": "Staff", "recognitionModel": "recognition_04"}


def test_add_face_sends_bytes_and_query_parameters(server, client):
    server.then(Reply(200, {"persistedFaceId": "f-1"}))
    face_id = client.add_face(
        "personGroup", "staff", "p-1", b"\xff\xd8" + b"x" * 2000,
        user_data="facesync:sha256=abc", target_face=(10, 20, 30, 40),
        detection_model="detection_03",
    )  # fmt: skip
    seen = server.seen[0]
    assert face_id == "f-1"
    assert seen.path == "/face/v1.0/persongroups/staff/persons/p-1/persistedfaces"
    assert seen.headers["Content-Type"] == "application/octet-stream"
    assert seen.query == {
        "userData": "facesync:sha256=abc",
        "targetFace": "10,20,30,40",
        "detectionModel": "detection_03",
    }
    assert seen.body.startswith(b"\xff\xd8")


def test_persons_are_listed_page_by_page_from_the_last_id(server):
    backend = HttpBackend(server.url, KEY, page_size=2)
    page = [{"personId": f"p{i}", "name": f"P{i}", "persistedFaceIds": [f"f{i}"]} for i in range(5)]
    server.then(Reply(200, page[0:2]), Reply(200, page[2:4]), Reply(200, page[4:]))
    persons = backend.list_persons("personGroup", "staff")
    assert [p.person_id for p in persons] == ["p0", "p1", "p2", "p3", "p4"]
    assert persons[4].persisted_face_ids == ("f4",)
    assert [s.query.get("start") for s in server.seen] == [None, "p1", "p3"]
    assert {s.query["top"] for s in server.seen} == {"2"}
    backend.close()


def test_a_person_without_face_list_has_no_faces(server, client):
    server.then(Reply(200, [{"personId": "p0", "name": "P0"}]))
    assert client.list_persons("personGroup", "staff")[0].persisted_face_ids == ()


@pytest.mark.parametrize("spelling", ["notstarted", "nonstarted", "notStarted", "NotStarted"])
def test_every_spelling_of_not_started_reads_the_same(spelling):
    assert parse_training({"status": spelling}).status == "notstarted"


def test_training_status_ignores_unknown_fields_and_a_missing_message():
    info = parse_training({
        "status": "Succeeded", "createdDateTime": "2024-03-05T11:07:58.371Z",
        "lastActionDateTime": "2024-03-05T11:07:59.0Z", "lastSuccessfulTrainingId": "x",
    })  # fmt: skip
    assert info.status == "succeeded"
    assert info.message is None
    assert info.created == "2024-03-05T11:07:58.371Z"


def test_a_never_trained_group_is_a_404_api_error(server, client):
    server.then(error(404, "PersonGroupNotTrained", "Person group not trained."))
    with pytest.raises(ApiError) as caught:
        client.get_training_status("personGroup", "staff")
    assert (caught.value.status, caught.value.code) == (404, "PersonGroupNotTrained")


def test_identify_names_the_group_field_of_its_kind(server, client):
    server.then(
        Reply(200, [{"faceId": "q1", "candidates": [{"personId": "p1", "confidence": 0.9}]}])
    )
    results = client.identify(["q1"], "largePersonGroup", "crowd", max_candidates=3, threshold=0.5)
    body = json.loads(server.seen[0].body)
    assert body == {
        "faceIds": ["q1"], "largePersonGroupId": "crowd",
        "maxNumOfCandidatesReturned": 3, "confidenceThreshold": 0.5,
    }  # fmt: skip
    assert results[0].candidates[0].person_id == "p1"


def test_detect_reads_rectangles(server, client):
    rect = {"top": 1, "left": 2, "width": 3, "height": 4}
    server.then(Reply(200, [{"faceId": "d1", "faceRectangle": rect}]))
    faces = client.detect(b"x" * 2000, recognition_model="recognition_04",
                          detection_model="detection_03")  # fmt: skip
    assert faces[0].rectangle == (2, 1, 3, 4)
    assert server.seen[0].query["returnFaceId"] == "true"


def test_an_answer_that_is_not_json_is_a_clear_error(server, client):
    server.then(Reply(200, b"<html>proxy login</html>"))
    with pytest.raises(ApiError, match="check --endpoint"):
        client.get_group("personGroup", "staff")
