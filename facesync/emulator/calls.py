"""One HTTP call as the handlers see it: path parameters, query, bodies.

Bodies are read with a cap whether or not a Content-Length came (chunked
uploads are accepted, as Microsoft's SDK sends them): images up to 6 MB,
JSON up to JSON_MAX_BYTES. Query parameter names match case-insensitively,
as the service's model binding does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request
from werkzeug.exceptions import HTTPException

from facesync.emulator import errors
from facesync.emulator.errors import ErrorSpec
from facesync.emulator.fetch import fetch_image, is_loopback_host
from facesync.limits import IMAGE_MAX_BYTES

JSON_MAX_BYTES = 1024 * 1024  # the largest legal body (16 KB of userData) is far below
_READ_SIZE = 64 * 1024


class Query(Mapping[str, str]):
    """The first value of each query parameter, names matched case-insensitively."""

    def __init__(self, pairs: Iterator[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass
class Call:
    request: Request
    params: dict[str, str]

    @property
    def query(self) -> Query:
        return Query(self.request.args.items(multi=True))

    @property
    def from_loopback(self) -> bool:
        return is_loopback_host(self.request.remote_addr or "")

    def json(self) -> Any:
        """The JSON body (415 unless Content-Type is application/json)."""
        if self.request.mimetype != "application/json":
            raise errors.MEDIA_TYPE.error()
        return parse_json(read_body(self.request, JSON_MAX_BYTES, errors.BODY_INVALID))

    def image(self) -> Callable[[], bytes]:
        """The image of an add-face or detect call, as raw bytes or a JSON `url`;
        the URL is fetched only when the rules need the image."""
        if self.request.mimetype == "application/octet-stream":
            data = read_body(self.request, IMAGE_MAX_BYTES, errors.IMAGE_TOO_BIG)
            return lambda: data
        if self.request.mimetype == "application/json":
            body = self.json()
            url = body.get("url") if isinstance(body, dict) else None
            if not isinstance(url, str):
                raise errors.BODY_INVALID.error()
            allow_files = self.from_loopback
            return lambda: fetch_image(url, allow_files=allow_files)
        raise errors.MEDIA_TYPE.error()


def read_body(request: Request, cap: int, too_big: ErrorSpec) -> bytes:
    length = request.content_length
    if length is not None and length > cap:
        raise too_big.error()
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = request.stream.read(min(_READ_SIZE, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise too_big.error()
    except (OSError, ValueError, HTTPException):  # broken chunking, client gone
        raise errors.BODY_INVALID.error() from None
    return b"".join(chunks)


def parse_json(data: bytes) -> Any:
    if not data.strip():
        raise errors.BODY_INVALID.error()
    try:
        return json.loads(data.decode("utf-8-sig"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise errors.JSON_PARSING.error() from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
