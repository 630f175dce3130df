"""What the Face API's error answers mean, in one place.

The service writes its errors in several envelopes over the years (see
docs/emulator.md for the ones the emulator speaks); `parse_error` reads them
all. Every check of a status or service error code that decides what
facesync does next (busy, not trained, not found, refused key, may have
happened) is a function here, so a new code is taught to facesync once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from facesync.errors import ApiError

# Throttled or busy: wait as the server says (Retry-After) before repeating.
THROTTLED = frozenset({429, 503})
# Refused before anything happened: even a POST that creates is safe to repeat.
REFUSED = frozenset({429})
# Server errors that may have happened after the change was made.
SERVER_ERRORS = frozenset({500, 502, 504})
# Answers after which the change may or may not exist (a 503 too: a gateway
# can send it after the service committed the change).
MAY_HAVE_HAPPENED = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class ErrorBody:
    code: str
    message: str


def parse_error(status: int, body: bytes | str | None) -> ErrorBody:
    """The service code and message of an error answer, whatever its envelope.

    Code: `error.innererror.code`, else `error.code`, else `error.statusCode`,
    else the HTTP status; the message follows the code it came with.
    """
    data = _json(body)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        return ErrorBody(str(status), _short(text) or f"HTTP {status}")
    code = _first(error, "code", "statusCode") or str(status)
    message = _text(error.get("message"))
    inner = error.get("innererror")
    if isinstance(inner, dict) and _first(inner, "code"):
        code = _first(inner, "code") or code
        message = _text(inner.get("message")) or message
    return ErrorBody(code, message or f"HTTP {status}")


def _json(body: bytes | str | None) -> object:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _first(error: dict, *keys: str) -> str | None:
    for key in keys:
        value = error.get(key)
        if value is not None and str(value) != "":
            return str(value)
    return None


def _text(value: object) -> str:
    return "" if value is None else _short(str(value))


def _short(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- what an ApiError means -----------------------------------------------------


def may_have_happened(exc: BaseException) -> bool:
    """The call may have made its change although it failed: no answer after
    sending, a 5xx, or any answer after an attempt that may have worked."""
    return isinstance(exc, ApiError) and (exc.ambiguous or exc.status in MAY_HAVE_HAPPENED)


def is_busy(exc: BaseException) -> bool:
    """409: the group is training or another write to the person is running;
    the request was refused, so repeating it is safe even for a POST."""
    return isinstance(exc, ApiError) and exc.status == 409 and (
        exc.code.endswith("TrainingNotFinished") or exc.code == "ConcurrentOperationConflict"
    )


def is_not_found(exc: BaseException) -> bool:
    """404 of any kind: the object is not (or no longer) there."""
    return isinstance(exc, ApiError) and exc.status == 404


def is_group_not_found(exc: BaseException) -> bool:
    """404 PersonGroupNotFound / LargePersonGroupNotFound."""
    return is_not_found(exc) and exc.code.endswith("GroupNotFound")  # type: ignore[union-attr]


def is_not_trained(exc: BaseException) -> bool:
    """404 PersonGroupNotTrained / LargePersonGroupNotTrained: no training yet."""
    return is_not_found(exc) and exc.code.endswith("NotTrained")  # type: ignore[union-attr]


def is_face_quota(exc: BaseException) -> bool:
    """The person already holds the most faces it may (248): 403 QuotaExceeded,
    `Persisted face number reached limit.`"""
    return (
        isinstance(exc, ApiError) and exc.status == 403 and exc.code == "QuotaExceeded"
        and exc.service_message.lower().startswith("persisted face")
    )


def is_access_refused(exc: BaseException) -> bool:
    """A refused key (401) or a used-up monthly quota (403 with code 403):
    every other call would fail the same way."""
    return isinstance(exc, ApiError) and (
        exc.status == 401 or (exc.status == 403 and exc.code == "403")
    )
