"""Case-insensitive routing on the raw request path.

Literal segments match whatever their case (`persistedFaces` = `persistedfaces`);
parameter segments are percent-decoded one by one from the raw path, so an
encoded slash (`%2F`) or a `..` stays inside one id and is refused by the id
rules instead of changing the route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

API_ROOT = ("face", "v1.0")


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]  # lowercase literals, or "{name}"
    handler: Callable[..., Any]


@dataclass(frozen=True)
class Match:
    handler: Callable[..., Any]
    params: dict[str, str]


class Router:
    def __init__(self, routes: list[tuple[str, str, Callable[..., Any]]]) -> None:
        self._routes = [
            Route(method, API_ROOT + tuple(path.lower().split("/")), handler)
            for method, path, handler in routes
        ]

    def match(self, method: str, raw_path: str) -> Match | None:
        segments = split_path(raw_path)
        for route in self._routes:
            if route.method != method or len(route.segments) != len(segments):
                continue
            params = _bind(route.segments, segments)
            if params is not None:
                return Match(route.handler, params)
        return None


def split_path(raw_path: str) -> tuple[str, ...]:
    """The decoded segments of a raw request target (query dropped, one trailing
    slash ignored)."""
    path = urlsplit(raw_path).path if "://" in raw_path else raw_path.split("?", 1)[0]
    parts = path.split("/")
    if parts and parts[0] == "":
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]
    return tuple(unquote(part, errors="replace") for part in parts)


def _bind(pattern: tuple[str, ...], segments: tuple[str, ...]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith("{"):
            params[expected[1:-1]] = actual
        elif expected != actual.lower():
            return None
    return params
