"""The HTTP client against a scripted server: retries, waits and what is never repeated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from facesync.backends.http import HttpBackend
from facesync.errors import ApiError, ApiUnreachableError

from .stub_server import DROP, Reply, StubServer, error

KEY = "k-0123456789abcdef-secret"
GROUP = {"personGroupId": "staff", "name": "Staff", "recognitionModel": "recognition_04"}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(server: StubServer, sleeps: list[float]) -> Iterator[HttpBackend]:
    backend = HttpBackend(server.url, KEY, sleep=sleeps.append, max_retries=3)
    yield backend
    backend.close()


def test_a_429_is_retried_after_the_retry_after_header(server, client, sleeps):
    server.then(error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "2"}),
                Reply(200, GROUP))  # fmt: skip
    assert client.get_group("personGroup", "staff").name == "Staff"
    assert client.calls_made == 2
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 2.5


def test_a_429_without_header_waits_the_seconds_named_in_the_message(server, client, sleeps):
    body = {
        "error": {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 26 seconds."}
    }
    server.then(Reply(429, body), Reply(200, GROUP))
    client.get_group("personGroup", "staff")
    assert 26.0 <= sleeps[0] <= 29.0


def test_a_throttled_post_is_repeated_because_the_server_refused_it(server, client, sleeps):
    message = "Requests ... exceeded rate limit of your F0 tier. Please retry after 1 second."
    server.then(error(429, "429", message), Reply(200, {"personId": "p-1"}))
    assert client.create_person("personGroup", "staff", "Alice", None) == "p-1"
    assert [s.method for s in server.seen] == ["POST", "POST"]
    assert 1.0 <= sleeps[0] <= 1.5


def test_a_503_without_any_hint_backs_off_and_retries(server, client, sleeps):
    server.then(Reply(503, b"busy"), Reply(503, b"busy"), Reply(200, GROUP))
    client.get_group("personGroup", "staff")
    assert client.calls_made == 3
    assert len(sleeps) == 2 and all(0 < s <= 60 for s in sleeps)


def test_retries_are_bounded(server, client):
    server.default = error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "1"})
    with pytest.raises(ApiError) as caught:
        client.get_group("personGroup", "staff")
    assert caught.value.status == 429
    assert client.calls_made == 4  # the first try and max_retries=3 more


def test_a_single_wait_is_capped(server, client, sleeps):
    server.then(error(429, "429", "Slow down.", **{"Retry-After": "3600"}), Reply(200, GROUP))
    client.get_group("personGroup", "staff")
    assert sleeps[0] <= 60


def test_a_500_on_a_get_is_retried(server, client):
    server.then(error(500, "InternalServerError", "oops"), Reply(200, GROUP))
    assert client.get_group("personGroup", "staff").group_id == "staff"
    assert client.calls_made == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_idempotent_writes_are_retried_after_a_500(server, client, method):
    server.then(error(502, "BadGateway", "oops"), Reply(200))
    if method == "PATCH":
        client.update_group("personGroup", "staff", "New", None)
    else:
        client.delete_group("personGroup", "staff")
    assert [s.method for s in server.seen] == [method, method]


def test_a_post_that_may_have_worked_is_not_repeated_after_a_500(server, client):
    server.then(error(500, "InternalServerError", "oops"), Reply(200, {"personId": "p-2"}))
    with pytest.raises(ApiError) as caught:
        client.create_person("personGroup", "staff", "Alice", None)
    assert caught.value.status == 500
    assert client.calls_made == 1


def test_an_add_face_is_not_repeated_after_a_dropped_connection(server, client):
    server.then(DROP, Reply(200, {"persistedFaceId": "f-1"}))
    with pytest.raises(ApiUnreachableError) as caught:
        client.add_face("personGroup", "staff", "p-1", b"x" * 2048)
    assert client.calls_made == 1
    assert "may have been done" in str(caught.value)
    assert caught.value.ambiguous is True


def test_a_get_is_repeated_after_a_dropped_connection(server, client):
    server.then(DROP, Reply(200, GROUP))
    assert client.get_group("personGroup", "staff").name == "Staff"
    assert client.calls_made == 2


def test_a_read_timeout_on_a_post_is_not_repeated(server, sleeps):
    backend = HttpBackend(server.url, KEY, sleep=sleeps.append, timeout=0.2)
    server.then(Reply(200, {"personId": "late"}, delay=1.0))
    with pytest.raises(ApiUnreachableError) as caught:
        backend.create_person("personGroup", "staff", "Alice", None)
    assert backend.calls_made == 1
    assert "no answer within 0.2 s" in str(caught.value)
    backend.close()


def test_a_refused_connection_names_the_endpoint_in_one_sentence(sleeps):
    backend = HttpBackend("http://127.0.0.1:9", KEY, sleep=sleeps.append)
    with pytest.raises(ApiUnreachableError) as caught:
        backend.list_groups("personGroup")
    assert str(caught.value) == (
        "cannot reach http://127.0.0.1:9: connection refused; check --endpoint / FACESYNC_ENDPOINT"
    )
    assert caught.value.ambiguous is False
    assert backend.calls_made == 3  # two quick retries: a restarting server is not gone


def test_a_401_tells_the_user_which_setting_to_check(server, client):
    server.then(error(401, "401", "Access denied due to invalid subscription key."))
    with pytest.raises(ApiError) as caught:
        client.list_groups("personGroup")
    assert caught.value.status == 401
    assert "FACESYNC_KEY" in str(caught.value) and "--key-file" in str(caught.value)
    assert client.calls_made == 1


def test_a_409_is_reported_with_the_service_code(server, client):
    server.then(error(409, "PersonGroupExists", "Person group already exists."))
    with pytest.raises(ApiError) as caught:
        client.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    assert (caught.value.status, caught.value.code) == (409, "PersonGroupExists")
    assert caught.value.operation == "create group" and caught.value.address == "staff"
    assert client.calls_made == 1


def test_a_post_answered_503_is_not_repeated_since_it_may_have_worked(server, client):
    server.then(error(503, "ServiceUnavailable", "busy"), Reply(200, {"personId": "p-2"}))
    with pytest.raises(ApiError) as caught:
        client.create_person("personGroup", "staff", "Alice", None)
    assert caught.value.status == 503
    assert caught.value.ambiguous is True
    assert client.calls_made == 1


def test_a_group_put_answered_exists_after_a_lost_first_answer_is_ambiguous(server, client):
    server.then(error(500, "InternalServerError", "oops"),
                error(409, "PersonGroupExists", "Person group already exists."))  # fmt: skip
    with pytest.raises(ApiError) as caught:
        client.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    assert (caught.value.status, caught.value.code) == (409, "PersonGroupExists")
    assert caught.value.ambiguous is True  # our first PUT may have made it


def test_a_group_put_answered_exists_at_once_is_a_plain_refusal(server, client):
    server.then(error(409, "PersonGroupExists", "Person group already exists."))
    with pytest.raises(ApiError) as caught:
        client.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    assert caught.value.ambiguous is False


def test_a_refused_post_is_not_ambiguous(server, client):
    server.then(error(400, "BadArgument", "'name' is empty."))
    with pytest.raises(ApiError) as caught:
        client.create_person("personGroup", "staff", "", None)
    assert caught.value.ambiguous is False


def test_a_throttled_post_is_not_ambiguous_when_it_finally_fails(server, client):
    server.default = error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "0"})
    with pytest.raises(ApiError) as caught:
        client.create_person("personGroup", "staff", "Alice", None)
    assert caught.value.status == 429 and caught.value.ambiguous is False
