"""How long to wait before repeating a Face API request.

The service names the wait either in a `Retry-After` header or only in the
message text; both are read here. Without either, a jittered exponential
backoff. The retry loop itself is `facesync.backends.transport`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MAX_SINGLE_WAIT = 60.0  # never sleep longer than this for one retry
BACKOFF_BASE = 0.5

_WAIT_IN_TEXT = re.compile(
    r"(?:try again|retry)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*(second|sec|s\b|minute|min)",
    re.IGNORECASE,
)


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
