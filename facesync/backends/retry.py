"""Reading Face API error answers and deciding how long to wait before a retry.

The service writes its errors in several envelopes over the years (contract
§8.1) and names the wait either in a `Retry-After` header or only in the
message text (§10); both are read here, nowhere else.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MAX_SINGLE_WAIT = 60.0  # never sleep longer than this for one retry
BACKOFF_BASE = 0.5

# Throttled or busy: wait as the server says (Retry-After) before repeating.
THROTTLED = frozenset({429, 503})
# Refused before anything happened: even a POST that creates is safe to repeat.
REFUSED = frozenset({429})
# Server errors that may have happened after the change was made.
SERVER_ERRORS = frozenset({500, 502, 504})
# Answers after which the change may or may not exist (a 503 too: a gateway
# can send it after the service committed the change).
MAY_HAVE_HAPPENED = frozenset({500, 502, 503, 504})

_WAIT_IN_TEXT = re.compile(
    r"(?:try again|retry)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*(second|sec|s\b|minute|min)",
    re.IGNORECASE,
)


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


def server_wait(
    headers: Mapping[str, str], message: str, *, now: datetime | None = None
) -> float | None:
    """Seconds the server asked us to wait: `Retry-After`, else the message text."""
    header = _header(headers, "Retry-After")
    if header:
        seconds = _retry_after(header.strip(), now)
        if seconds is not None:
            return seconds
    match = _WAIT_IN_TEXT.search(message or "")
    if match:
        value = float(match.group(1))
        return value * 60 if match.group(2).lower().startswith("min") else value
    return None


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Jittered exponential backoff for retry number `attempt` (0-based)."""
    top = min(MAX_SINGLE_WAIT, BACKOFF_BASE * 2**attempt)
    return (rng or random).uniform(top / 2, top)


def throttle_wait(
    headers: Mapping[str, str], message: str, attempt: int, rng: random.Random | None = None
) -> float:
    """How long to pause after a 429/503: what the server said plus a little
    jitter (so parallel workers do not return in lockstep), else backoff."""
    asked = server_wait(headers, message)
    if asked is None:
        return backoff(attempt, rng)
    jitter = (rng or random).uniform(0, 0.1 * asked + 0.05)
    return min(MAX_SINGLE_WAIT, asked + jitter)


def _retry_after(value: str, now: datetime | None) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


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
