"""Endpoint, key and tier resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesync.backends.connection import endpoint_identity, resolve_connection
from facesync.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FACESYNC_ENDPOINT", "FACESYNC_KEY", "FACESYNC_TIER"):
        monkeypatch.delenv(name, raising=False)


def test_no_endpoint_means_the_embedded_emulator_with_no_rate_limit() -> None:
    conn = resolve_connection(None, None, None)
    assert conn.endpoint is None and conn.identity == "embedded"
    assert conn.tier == "unlimited" and conn.rate is None


def test_a_real_endpoint_defaults_to_the_s0_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESYNC_KEY", "secret-key")
    conn = resolve_connection("https://face.example.com/", None, None)
    assert conn.tier == "S0" and conn.rate == 10.0
    assert conn.identity == "https://face.example.com:443"


def test_the_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESYNC_ENDPOINT", "https://env.example.com")
    monkeypatch.setenv("FACESYNC_KEY", "k")
    assert resolve_connection("http://127.0.0.1:5005", None, None).endpoint == (
        "http://127.0.0.1:5005"
    )


def test_the_key_comes_from_a_key_file_when_the_environment_has_none(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    conn = resolve_connection("https://face.example.com", key_file, "free")
    assert conn.key == "from-file" and conn.rate == pytest.approx(20 / 60)
    assert "from-file" not in repr(conn)


def test_an_endpoint_without_a_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="FACESYNC_KEY"):
        resolve_connection("https://face.example.com", None, None)


def test_an_endpoint_that_is_not_a_url_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        endpoint_identity("face.example.com")


def test_a_bad_rate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESYNC_KEY", "k")
    with pytest.raises(ConfigError, match="--rate"):
        resolve_connection("https://face.example.com", None, None, 0)


def test_the_endpoint_identity_drops_path_and_query_and_keeps_the_port() -> None:
    assert endpoint_identity("HTTP://LocalHost:5005/face/v1.0?x=1") == "http://localhost:5005"
