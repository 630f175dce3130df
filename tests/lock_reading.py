"""The lock file read from the outside, as a script or a reviewer would read it.

Tests check the lock through its JSON, not through facesync's own reader, so a
bug in that reader cannot hide itself. Format 2 writes a usual face as one text
`"<image key> <persistedFaceId> <path under dir>"`; `expanded` spells every face
out as {"sha256", "persistedFaceId", "path"} with the full path.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any


def image_key(data: bytes) -> str:
    """The key facesync gives an image: the first 128 bits of its SHA-256, base64url."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()[:16]).decode().rstrip("=")


def file_key(path: Path) -> str:
    return image_key(path.read_bytes())


def expanded(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a lock document whose faces are all objects with full paths."""
    out = copy.deepcopy(doc)
    for group in out.get("groups", {}).values():
        for person in group.get("persons", {}).values():
            folder = person.pop("dir", "")
            person["faces"] = [_face(f, folder) for f in person.get("faces", [])]
    return out


def _face(entry: str | dict[str, Any], folder: str) -> dict[str, Any]:
    if isinstance(entry, str):
        sha, face_id, path = entry.split(" ", 2)
        return {"sha256": sha, "persistedFaceId": face_id, "path": folder + path}
    return {**entry, "path": folder + entry["path"]}


def read_lock_json(path: Path) -> dict[str, Any]:
    return expanded(json.loads(path.read_text(encoding="utf-8")))
