"""The Face API's argument rules: ids, names, userData, paging, models, targetFace.

Each function takes a raw value (a JSON value, a query string or a path
segment; `ABSENT` when the field was not sent) and returns it clean or raises
the service's EmulatorError. Lengths count UTF-16 code units, as the service
(a .NET application) does: an emoji counts 2 (facesync.text_rules, which the
manifest's checks use too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from facesync.emulator import errors
from facesync.emulator.kinds import GroupKind
from facesync.face_rules import target_is_valid
from facesync.limits import (
    DETECTION_MODELS,
    GROUP_ID_RE,
    LIST_TOP_MAX,
    NAME_MAX_CHARS,
    RECOGNITION_MODELS,
    SERVICE_DEFAULT_DETECTION_MODEL,
    SERVICE_DEFAULT_RECOGNITION_MODEL,
)
from facesync.text_rules import too_long, utf16_len

ABSENT: Any = object()
# Always used with fullmatch: `$` alone would accept a trailing newline.
GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_INT_RE = re.compile(r"[+-]?[0-9]{1,12}")
START_MAX_CHARS = 64


def body_object(body: Any) -> Mapping[str, Any]:
    """A JSON body must be an object; fields the service does not know are ignored."""
    if not isinstance(body, dict):
        raise errors.BODY_INVALID.error()
    return body


def field(body: Mapping[str, Any], name: str) -> Any:
    """A body field, ABSENT when missing or null."""
    value = body.get(name)
    return ABSENT if value is None else value


def text(value: Any) -> str:
    """A JSON string that SQLite and every client can hold (no lone surrogates)."""
    if not isinstance(value, str):
        raise errors.BODY_INVALID.error()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.BODY_INVALID.error() from None
    return value


def group_id_on_create(kind: GroupKind, value: str) -> str:
    if not GROUP_ID_RE.fullmatch(value):
        raise errors.GROUP_ID_INVALID_ON_CREATE.error(kind)
    return value


def group_id(kind: GroupKind, value: str) -> str:
    if not GROUP_ID_RE.fullmatch(value):
        raise errors.GROUP_ID_INVALID.error(kind)
    return value


def guid(value: str) -> str | None:
    """A GUID in the service's canonical lowercase form, or None."""
    return value.lower() if GUID_RE.fullmatch(value) else None


def person_id(value: str) -> str:
    found = guid(value)
    if found is None:
        raise errors.PERSON_ID_INVALID.error()
    return found


def persisted_face_id(value: str) -> str:
    found = guid(value)
    if found is None:
        raise errors.FACE_ID_INVALID.error()
    return found


def name_on_create(value: Any) -> str:
    if value is ABSENT:
        raise errors.NAME_EMPTY.error()
    return name(value)


def name(value: Any) -> str:
    value = text(value)
    if not value.strip():
        raise errors.NAME_EMPTY.error()
    if too_long(value, NAME_MAX_CHARS):
        raise errors.NAME_TOO_LONG.error()
    return value


def user_data(value: Any, limit: int) -> str | None:
    if value is ABSENT:
        return None
    value = text(value)
    if too_long(value, limit):
        raise errors.USER_DATA_TOO_LONG.error()
    return value


def recognition_model(value: Any) -> str:
    if value is ABSENT:
        return SERVICE_DEFAULT_RECOGNITION_MODEL
    if value not in RECOGNITION_MODELS:
        raise errors.RECOGNITION_MODEL_INVALID.error()
    return str(value)


def detection_model(value: str | None) -> str:
    if value is None or value == "":
        return SERVICE_DEFAULT_DETECTION_MODEL
    if value not in DETECTION_MODELS:
        raise errors.DETECTION_MODEL_INVALID.error()
    return value


def start(value: str | None) -> str:
    value = value or ""
    if utf16_len(value) > START_MAX_CHARS:
        raise errors.START_TOO_LONG.error()
    return value


def top(value: str | None) -> int:
    if value is None or value == "":
        return LIST_TOP_MAX
    if not _INT_RE.fullmatch(value) or not 1 <= int(value) <= LIST_TOP_MAX:
        raise errors.TOP_INVALID.error()
    return int(value)


def boolean(param: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise errors.PARAM_INVALID.error(param=param)
    return lowered == "true"


def integer(param: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    if not _INT_RE.fullmatch(value) or not low <= int(value) <= high:
        raise errors.PARAM_INVALID.error(param=param)
    return int(value)


def target_face(value: str | None) -> tuple[int, int, int, int] | None:
    """`left,top,width,height`: four non-negative integers, width and height > 0."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4 or not all(re.fullmatch(r"\s*[0-9]{1,9}\s*", part) for part in parts):
        raise errors.TARGET_FACE_INVALID.error()
    left, top_px, width, height = (int(part) for part in parts)
    if not target_is_valid((left, top_px, width, height)):
        raise errors.TARGET_FACE_INVALID.error()
    return (left, top_px, width, height)
