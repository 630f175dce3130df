"""Short digests: of names and userData, so the lock records *that* a value was
set without copying personal text into a file meant for Git; and of image
bytes, the identity of a face.

Both are the first 128 bits of a SHA-256 in unpadded base64url (22
characters): unique enough for any gallery, and short enough that a lock of
100,000 persons x 5 faces stays well under what Git hosts accept.
"""

from __future__ import annotations

import binascii
import hashlib
import re

_HEX = re.compile(r"[0-9a-f]{64}")
_LEGACY_TEXT = "sha256:"  # lock format 1 wrote text digests as sha256:<hex>
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _short(raw: bytes) -> str:
    """16 bytes (128 bits) as 22 characters of unpadded base64url; binascii and
    bytes.translate, since a gallery computes hundreds of thousands of these."""
    return binascii.b2a_base64(raw[:16], newline=False)[:22].translate(_URLSAFE).decode("ascii")


def text_digest(value: str | None) -> str | None:
    """The short digest of the UTF-8 text, or None for an unset value."""
    if value is None:
        return None
    return _short(hashlib.sha256(value.encode("utf-8")).digest())


def bytes_key(data: bytes) -> str:
    """The identity of an image from its bytes (what `image_key` gives for their SHA-256)."""
    return _short(hashlib.sha256(data).digest())


def image_key(sha256: str) -> str:
    """The identity of an image from its SHA-256 (64 hex characters, as the hash
    cache and lock format 1 keep it); a short digest is returned as it is."""
    if _HEX.fullmatch(sha256):
        return _short(bytes.fromhex(sha256))
    return sha256


def upgraded_text_digest(digest: str | None) -> str | None:
    """A text digest of lock format 1 (`sha256:<hex>`) in today's short form."""
    if digest is not None and digest.startswith(_LEGACY_TEXT):
        return image_key(digest[len(_LEGACY_TEXT):])
    return digest
