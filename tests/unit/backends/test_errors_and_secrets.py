"""Error envelopes, wait parsing, and the key kept out of
everything a user or a log can see."""

from __future__ import annotations

import json
import random

import pytest

from facesync.backends.http import HttpBackend
from facesync.backends.service_errors import parse_error
from facesync.backends.waits import backoff, server_wait, throttle_wait
from facesync.errors import ApiError

from .stub_server import DROP, Reply, StubServer, error

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

RATE = "Rate limit is exceeded. Try again in 26 seconds."
INNER = {"code": "UnsupportedFeature", "message": "Feature is not supported."}
ENVELOPES = [
    # (status, body, code, message)
    (404, {"error": {"code": "PersonGroupNotFound", "message": "Person group is not found."}},
     "PersonGroupNotFound", "Person group is not found."),
    (429, {"error": {"statusCode": 429, "message": RATE}}, "429", RATE),
    (403, {"error": {"statusCode": 403, "message": "Out of call volume quota."}},
     "403", "Out of call volume quota."),
    (429, {"error": {"code": "RateLimitExceeded", "message": "Try again later."}},
     "RateLimitExceeded", "Try again later."),
    (403, {"error": {"code": "InvalidRequest", "message": "Invalid request.", "innererror": INNER}},
     "UnsupportedFeature", "Feature is not supported."),
    (401, {"error": {"code": "Unspecified", "message": "Access denied."}},
     "Unspecified", "Access denied."),
    (502, b"<html>Bad Gateway</html>", "502", "<html>Bad Gateway</html>"),
    (500, None, "500", "HTTP 500"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "code", "message"), ENVELOPES)
def test_every_error_envelope_yields_a_code_and_message(status, body, code, message):
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    parsed = parse_error(status, raw)
    assert (parsed.code, parsed.message) == (code, message)


@pytest.mark.parametrize(
    ("headers", "message", "seconds"),
    [
        ({"Retry-After": "7"}, "", 7.0),
        ({"retry-after": "3"}, "Try again in 26 seconds.", 3.0),
        ({}, "Rate limit is exceeded. Try again in 26 seconds.", 26.0),
        ({}, "Please retry after 1 second. For more information...", 1.0),
        ({}, "Try again in 2 minutes.", 120.0),
        ({}, "Rate limit is exceeded. Try again later.", None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, "", 0.0),
    ],
)
def test_the_wait_comes_from_the_header_or_else_the_message(headers, message, seconds):
    assert server_wait(headers, message) == seconds


def test_backoff_grows_and_is_jittered_and_capped():
    rng = random.Random(1)
    waits = [backoff(n, rng) for n in range(10)]
    assert waits[0] <= 0.5 and waits[3] > waits[0]
    assert max(waits) <= 60
    assert len(set(waits)) == len(waits)


def test_a_throttle_wait_is_at_least_what_the_server_asked():
    rng = random.Random(2)
    for _ in range(50):
        assert 5 <= throttle_wait({"Retry-After": "5"}, "", 0, rng) <= 5.6


def test_the_key_never_appears_in_errors_reprs_or_log_lines():
    stub = StubServer()
    lines: list[str] = []
    backend = HttpBackend(stub.url, KEY, sleep=lambda s: None, log=lines.append, max_retries=1)
    stub.then(
        error(401, "401", f"Access denied for key {KEY}."),
        error(400, "BadArgument", f"echo {KEY}"),
        error(429, "429", f"slow down {KEY}"), error(429, "429", "again"),
        DROP,
        Reply(500, f"trace {KEY}".encode()),
    )  # fmt: skip
    calls = [
        lambda: backend.list_groups("personGroup"),
        lambda: backend.get_group("personGroup", "staff"),
        lambda: backend.get_group("personGroup", "staff"),
        lambda: backend.create_person("personGroup", "staff", "A", None),
        lambda: backend.create_person("personGroup", "staff", "A", None),
    ]
    seen = [repr(backend)]
    for call in calls:
        with pytest.raises(ApiError) as caught:
            call()
        seen += [str(caught.value), repr(caught.value), caught.value.service_message]
    seen += lines
    stub.stop()
    assert len(seen) > 10
    assert not [text for text in seen if KEY in text]
