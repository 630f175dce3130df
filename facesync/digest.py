"""Digests of names and userData, so the lock records *that* a value was set
without copying personal text into a file meant for Git."""

from __future__ import annotations

import hashlib


def text_digest(value: str | None) -> str | None:
    """`sha256:<hex>` of the UTF-8 text, or None for an unset value."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
