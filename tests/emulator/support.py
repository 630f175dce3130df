"""Wire-level tools for the emulator contract suite: a thin `requests` client,
the two group kinds, exact error-body assertions and image builders.

Everything here speaks HTTP exactly as a Face API client would; nothing
imports the emulator's own constants, so the suite checks the service's rules and
not the implementation against itself.
"""

from __future__ import annotations

import io
import random
import struct
import time
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image

KEY_HEADER = "Ocp-Apim-Subscription-Key"
GUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ISO_UTC_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$"


@dataclass(frozen=True)
class Api:
    """A Face API endpoint: base URL (up to /face/v1.0) and key."""

    base: str
    key: str
    session: requests.Session

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
        timeout: float = 30.0,
    ) -> requests.Response:
        sent = {KEY_HEADER: self.key if key is None else key}
        sent.update(headers or {})
        return self.session.request(
            method,
            self.base + path,
            json=json,
            data=data,
            params=params,
            headers=sent,
            timeout=timeout,
        )

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def post_image(self, path: str, image: bytes, **params: Any) -> requests.Response:
        return self.call(
            "POST",
            path,
            data=image,
            params=params or None,
            headers={"Content-Type": "application/octet-stream"},
        )


def api_for(url: str, key: str) -> Api:
    return Api(base=url + "/face/v1.0", key=key, session=requests.Session())


@dataclass(frozen=True)
class Kind:
    """PersonGroup or LargePersonGroup: same rules, other prefix, codes and words."""

    collection: str
    id_field: str
    code_prefix: str
    label: str

    @property
    def not_found(self) -> str:
        return f"{self.code_prefix}NotFound"

    @property
    def exists(self) -> str:
        return f"{self.code_prefix}Exists"

    @property
    def not_trained(self) -> str:
        return f"{self.code_prefix}NotTrained"

    @property
    def training_not_finished(self) -> str:
        return f"{self.code_prefix}TrainingNotFinished"

    def msg_not_found(self) -> str:
        return f"{self.label} is not found."

    def msg_invalid_id(self) -> str:
        return f"{self.label} ID is invalid."

    def msg_exists(self) -> str:
        return f"{self.label} already exists."

    def msg_not_trained(self) -> str:
        return f"{self.label} not trained."

    def msg_under_training(self) -> str:
        return f"{self.label} is under training."

    def path(self, group_id: str, *rest: str) -> str:
        return "/".join([f"/{self.collection}/{group_id}", *rest]).rstrip("/")


PERSON_GROUP = Kind("persongroups", "personGroupId", "PersonGroup", "Person group")
LARGE_PERSON_GROUP = Kind(
    "largepersongroups", "largePersonGroupId", "LargePersonGroup", "Large person group"
)
KINDS = (PERSON_GROUP, LARGE_PERSON_GROUP)


def fresh_id(prefix: str = "t") -> str:
    """A group id no other test uses: lowercase, in the service's charset."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def error_body(resp: requests.Response) -> dict[str, Any]:
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    return resp.json()


def expect_error(resp: requests.Response, status: int, code: str, message: str) -> None:
    """The response is exactly the service's error envelope with this code and message."""
    assert (resp.status_code, error_body(resp)) == (
        status,
        {"error": {"code": code, "message": message}},
    ), resp.text[:600]


def expect_error_code(resp: requests.Response, status: int, code: str) -> str:
    """Status and code as the service answers; returns the message (not always fixed)."""
    body = error_body(resp)
    assert resp.status_code == status, resp.text
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message, body
    return message


def expect_empty(resp: requests.Response, status: int = 200) -> None:
    """Success with the service's empty body."""
    assert resp.status_code == status, resp.text
    assert resp.content == b"", resp.content


def expect_json(resp: requests.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    return resp.json()


def create_group(api: Api, kind: Kind, group_id: str | None = None, **body: Any) -> str:
    group_id = group_id or fresh_id()
    body.setdefault("name", "Staff")
    expect_empty(api.put(kind.path(group_id), json=body))
    return group_id


def create_person(api: Api, kind: Kind, group_id: str, name: str = "Ann", **body: Any) -> str:
    resp = api.post(kind.path(group_id, "persons"), json={"name": name, **body})
    return expect_json(resp)["personId"]


def add_face(
    api: Api, kind: Kind, group_id: str, person_id: str, image: bytes, **params: Any
) -> str:
    path = kind.path(group_id, "persons", person_id, "persistedfaces")
    return expect_json(api.post_image(path, image, **params))["persistedFaceId"]


def wait_for_training(api: Api, kind: Kind, group_id: str, deadline_s: float = 30.0) -> dict:
    """Poll the training status every 20 ms until it settles; fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        body = expect_json(api.get(kind.path(group_id, "training")))
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < end, f"training still {body['status']} after {deadline_s}s"
        time.sleep(0.02)


def train(api: Api, kind: Kind, group_id: str) -> dict:
    expect_empty(api.post(kind.path(group_id, "train")), status=202)
    return wait_for_training(api, kind, group_id)


def detect(api: Api, image: bytes, **params: Any) -> list[dict[str, Any]]:
    return expect_json(api.post_image("/detect", image, **params))


def identify(api: Api, face_ids: Iterable[str], **body: Any) -> list[dict[str, Any]]:
    return expect_json(api.post("/identify", json={"faceIds": list(face_ids), **body}))


@dataclass(frozen=True)
class Photos:
    """Shrunk JPEG copies of manifests/faces, keyed by their path there."""

    folder: Path

    def path(self, rel: str) -> Path:
        found = self.folder / rel
        assert found.is_file(), f"no photo {rel}"
        return found

    def bytes(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    @property
    def small_face(self) -> bytes:
        """A ~10 KB one-face JPEG: the cheap image for bulk adds."""
        return self.bytes("small/obama_official.jpg")


# ---- image builders -------------------------------------------------------


def encode(image: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def downscaled(data: bytes, long_side: int, fmt: str = "JPEG") -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return encode(image, fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def noise_image(width: int, height: int, seed: int = 7) -> Image.Image:
    """Random pixels: no face, and a file size that compression cannot shrink."""
    return Image.frombytes(
        "RGB", (width, height), random.Random(seed).randbytes(width * height * 3)
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(side: int = 30000) -> bytes:
    """A ~100 KB valid PNG that decodes to side x side pixels (900 MB for 30000).

    One bit per pixel keeps building it cheap; a decoder still expands it.
    """
    rows = (b"\x00" * (1 + (side + 7) // 8)) * 100  # filter byte + packed bits, 100 rows
    packer = zlib.compressobj(6)
    parts = [packer.compress(rows) for _ in range(side // 100)]
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def place_on_canvas(face_photo: bytes, face_long_side: int, canvas: tuple[int, int]) -> bytes:
    """A photo shrunk to `face_long_side` px pasted on a noise canvas (for tiny faces)."""
    small = Image.open(io.BytesIO(face_photo)).convert("RGB")
    small.thumbnail((face_long_side, face_long_side), Image.Resampling.LANCZOS)
    background = noise_image(*canvas)
    background.paste(small, (canvas[0] // 3, canvas[1] // 3))
    return encode(background, "PNG")
