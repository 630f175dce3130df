"""Endpoint URLs: the one check of what a user gave, and the two forms facesync
uses: the base the client sends to, and the identity the lock file records."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from facesync.errors import ConfigError

API_PREFIX = "/face/v1.0"


def _checked(endpoint: str) -> tuple[str, SplitResult]:
    """The base text and its parts, or a ConfigError naming the fix."""
    text = endpoint.strip().rstrip("/")
    if text.lower().endswith(API_PREFIX):
        text = text[: -len(API_PREFIX)].rstrip("/")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"endpoint {endpoint!r} is not an http(s) URL such as "
            "https://NAME.cognitiveservices.azure.com; check --endpoint / FACESYNC_ENDPOINT"
        )
    return text, parts


def endpoint_base(endpoint: str) -> str:
    """`scheme://host[:port][/path]` without a trailing slash or /face/v1.0."""
    return _checked(endpoint)[0]


def endpoint_identity(endpoint: str) -> str:
    """scheme://host:port (path, key and query dropped): what the lock records."""
    parts = _checked(endpoint)[1]
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{parts.hostname.lower()}:{port}"  # type: ignore[union-attr]
