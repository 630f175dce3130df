"""Hostile input on the wire (issue 9): keys that cannot be a header value,
ids that would climb out of their path segment, redirects that would carry the
key away, and --debug's HTTP lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from facesync.backends.connection import (
    KEY_ENV,
    checked_key,
    key_problem,
    read_key,
    read_key_file,
    scrub_key,
)
from facesync.backends.http import HttpBackend, segment
from facesync.backends.http_trace import LOGGER_NAME, show_http_calls
from facesync.errors import ApiError, ConfigError

from .stub_server import Reply, StubServer

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
BAD_KEYS = {
    "two keys, one per line": f"{KEY}\n{OTHER}",
    "two keys, CRLF": f"{KEY}\r\n{OTHER}",
    "two keys, a space": f"{KEY} {OTHER}",
    "a tab": f"{KEY}\t",
    "a smart quote": f"{KEY[:16]}\u2019{KEY[16:]}",
    "an accented letter": f"{KEY[:5]}é{KEY[5:]}",
    "a NUL": f"{KEY}\x00",
    "DEL": f"{KEY[:20]}\x7f{KEY[20:]}",
    "far too long": KEY * 9,
}


@pytest.fixture
def client(server: StubServer) -> Iterator[HttpBackend]:
    backend = HttpBackend(server.url, KEY, sleep=lambda s: None)
    yield backend
    backend.close()


def _pieces(*keys: str) -> list[str]:
    """Every 8-character run of the keys: none may show anywhere."""
    return [key[i : i + 8] for key in keys for i in range(len(key) - 7)]


def _leaked(text: str) -> list[str]:
    return [piece for piece in _pieces(KEY, OTHER) if piece.lower() in text.lower()]


# --- the key's own check -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_a_key_that_is_no_header_value_is_refused_by_name_only(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        checked_key(BAD_KEYS[name], KEY_ENV)
    message = str(caught.value)
    assert message.startswith("FACESYNC_KEY is not a valid key: ")
    assert _leaked(message) == [] and "\n" not in message
    assert not re.search(r"position|\\u|'.'", message)  # no character, no index


@pytest.mark.parametrize("key", [KEY, "Abc-_.~!$&+=/" + KEY, "x"])
def test_other_printable_key_formats_are_accepted(key: str) -> None:
    assert key_problem(key) is None


def test_an_environment_key_with_a_trailing_newline_is_fine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, f"  {KEY}\n")
    assert read_key(None) == KEY


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f"{KEY}\n{OTHER}\n".encode(), "more than one line"),
        (b"\xff\xfe" + KEY.encode("utf-16-le"), "not text"),
        (f"{KEY}\u2019\n".encode(), "outside printable ASCII"),
        (KEY.encode() * 200, "far larger than one key"),
    ],
)
def test_a_key_file_with_anything_but_one_key_is_refused_without_quoting_it(
    tmp_path: Path, content: bytes, says: str
) -> None:
    key_file = tmp_path / "face.key"
    key_file.write_bytes(content)
    with pytest.raises(ConfigError, match=says) as caught:
        read_key_file(key_file)
    assert str(key_file) in str(caught.value) and _leaked(str(caught.value)) == []


def test_a_key_file_saved_with_a_bom_and_blank_lines_holds_its_key(tmp_path: Path) -> None:
    key_file = tmp_path / "face.key"
    key_file.write_bytes(b"\xef\xbb\xbf\n" + KEY.encode() + b"\r\n\r\n")
    assert read_key_file(key_file) == KEY


def test_the_client_itself_refuses_a_malformed_key_before_any_request(
    server: StubServer,
) -> None:
    with pytest.raises(ConfigError) as caught:
        HttpBackend(server.url, BAD_KEYS["two keys, one per line"])
    assert _leaked(str(caught.value)) == [] and server.seen == []


# --- the scrub --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"echo {KEY}",
        f"echo {KEY.upper()}",
        f"the first half {KEY[:12]} only",
        f"the tail {KEY[-9:]}",
        repr(f"{KEY}\n{OTHER}"),  # a mangled pair of keys, as an exception prints it
    ],
)
def test_the_scrub_removes_the_key_whole_cut_or_upper_cased(text: str) -> None:
    scrubbed = scrub_key(scrub_key(text, KEY), OTHER)
    assert _leaked(scrubbed) == [] and "***" in scrubbed


def test_the_scrub_keeps_text_that_shares_only_a_few_characters_with_the_key() -> None:
    text = f"status {KEY[:7]} and {KEY[10:17]}"
    assert scrub_key(text, KEY) == text


# --- ids in paths -----------------------------------------------------------------------

HOSTILE_IDS = ["../../largepersongroups/victim", "a/b", "x?y=1#z", "%2e%2e", "..%2F", " sp ", "é"]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_id_stays_inside_its_one_path_segment(
    server: StubServer, client: HttpBackend, hostile: str
) -> None:
    client.delete_person("personGroup", "staff", hostile)
    client.delete_face("personGroup", hostile, hostile, hostile)
    person, face = (seen.path for seen in server.seen)
    assert person.split("/")[:5] == ["", "face", "v1.0", "persongroups", "staff"]
    assert len(person.split("/")) == 7 and person.split("/")[5] == "persons"
    assert len(face.split("/")) == 9 and face.split("/")[7] == "persistedfaces"
    assert all(seen.query == {} for seen in server.seen)


@pytest.mark.parametrize("step", ["", ".", ".."])
def test_an_id_that_is_a_path_step_is_refused_before_any_request(
    server: StubServer, client: HttpBackend, step: str
) -> None:
    with pytest.raises(ApiError, match="is not an id the Face API can have"):
        client.delete_person("personGroup", "staff", step)
    with pytest.raises(ApiError):
        client.delete_group("largePersonGroup", step)
    assert server.seen == []


def test_a_segment_escapes_every_reserved_character() -> None:
    assert segment("a/b?c#d%e f", "id") == "a%2Fb%3Fc%23d%25e%20f"


# --- redirects and the HTTP stack's own errors ------------------------------------------


def test_a_redirect_is_not_followed_so_the_key_never_travels_to_its_target(
    server: StubServer, client: HttpBackend
) -> None:
    elsewhere = StubServer()
    try:
        server.then(Reply(307, None, {"Location": elsewhere.url + "/face/v1.0/persongroups"}))
        with pytest.raises(ApiError, match="does not follow redirects") as caught:
            client.list_groups("personGroup")
        assert elsewhere.seen == []
        assert elsewhere.url.split("//")[1] in str(caught.value)
    finally:
        elsewhere.stop()


# --- --debug's lines ----------------------------------------------------------------------


@pytest.fixture
def http_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    logger = logging.getLogger(LOGGER_NAME)
    handlers, level, propagate, disabled = (
        list(logger.handlers), logger.level, logger.propagate, logger.disabled
    )
    show_http_calls()
    show_http_calls()  # twice: still one line per call
    yield capsys
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate, logger.disabled = propagate, disabled


def test_debug_prints_one_line_per_request_with_no_key_header_or_body(
    server: StubServer, http_lines: pytest.CaptureFixture[str]
) -> None:
    backend = HttpBackend(server.url, KEY, sleep=lambda s: None)
    server.then(
        Reply(429, {"error": {"code": "429", "message": "wait"}}, {"Retry-After": "0"}),
        Reply(200, {"persistedFaceId": "f-1"}),
    )
    backend.add_face("personGroup", "staff", "p-1", b"IMAGE-BYTES", user_data="SECRET-NOTE")
    backend.close()
    err = http_lines.readouterr().err
    calls = [line for line in err.splitlines() if " -> " in line]
    assert len(calls) == 2, err
    pattern = r"debug: POST /face/v1\.0/persongroups/staff/persons/p-1/persistedfaces\?userData=\.\.\. -> HTTP (429|200) in \d+ ms"  # noqa: E501
    assert re.fullmatch(pattern, calls[0]), calls[0]
    assert re.fullmatch(pattern + r" \(retry 1\)", calls[1]), calls[1]
    assert "retrying in" in err
    for secret in ("SECRET-NOTE", "IMAGE-BYTES", "Ocp-Apim", KEY[:8]):
        assert secret not in err


# --- the CLI's last guard ---------------------------------------------------------------


def test_a_key_in_an_unexpected_error_is_scrubbed_from_the_line_and_the_traceback(
    monkeypatch: pytest.MonkeyPatch, http_lines: pytest.CaptureFixture[str]
) -> None:
    """(`http_lines` restores the HTTP logger that main(["--debug", ...]) sets up.)"""
    from facesync import cli
    from facesync.commands import show

    monkeypatch.setenv(KEY_ENV, KEY)

    def echoes_the_key(*_args: object, **_kwargs: object) -> int:
        key = read_key(None)
        raise RuntimeError(f"a library said {key!r} and {key[:10].upper()}")

    monkeypatch.setattr(show, "run", echoes_the_key)
    for debug in ([], ["--debug"]):
        assert cli.main([*debug, "show"]) == 1
        err = http_lines.readouterr().err
        assert "unexpected RuntimeError" in err and _leaked(err) == [], err
        assert ("Traceback" in err) == bool(debug)


@pytest.mark.parametrize("key", ["1", "0", KEY])
def test_serve_shows_where_a_given_key_came_from_and_never_the_key(key: str) -> None:
    from facesync.commands.serve import _hidden

    url = "http://127.0.0.1:50105"
    line = (
        f"Face API emulator on {url}/face/v1.0 — key: {key}"
        f" (set FACESYNC_ENDPOINT={url} and FACESYNC_KEY={key})"
    )
    shown = _hidden(line, key, "FACESYNC_KEY")
    assert shown == (
        f"Face API emulator on {url}/face/v1.0 — key: <the key from FACESYNC_KEY>"
        f" (set FACESYNC_ENDPOINT={url} and FACESYNC_KEY=<the key from FACESYNC_KEY>)"
    )
    assert _hidden(line, None, "random") == line
