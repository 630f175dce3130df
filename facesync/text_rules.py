"""How the Face API measures text, in one place for the manifest's checks and the emulator.

The service (a .NET application) counts a name's or a userData's length in
UTF-16 code units, so an emoji or any other character beyond U+FFFF counts 2.
Python counts code points; a check that used `len()` would pass a text the
service refuses half-way through an apply.
"""

from __future__ import annotations

# What may put a character beyond U+FFFF into a document: a YAML escape
# (\U0001F600, or a \uD83D\uDE00 surrogate pair), a UTF-16/32 encoding (NUL
# bytes, a byte-order mark), or the lead byte of a 4-byte UTF-8 sequence.
_ESCAPES = (b"\\u", b"\\U", b"\x00")
_BOMS = (b"\xfe\xff", b"\xff\xfe")
_FOUR_BYTE_LEADS = tuple(bytes([lead]) for lead in range(0xF0, 0xF5))


def utf16_len(text: str) -> int:
    """The length of `text` as the service counts it."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def too_long(text: str, limit: int) -> bool:
    """True when the service would refuse `text` for a limit of `limit` characters."""
    # only a text of more than limit / 2 code points can reach the limit in UTF-16 units
    return len(text) > limit or (2 * len(text) > limit and utf16_len(text) > limit)


def may_hold_astral(source: bytes) -> bool:
    """False only when no text read from `source` can hold a character beyond
    U+FFFF, so that code points and UTF-16 units count alike. A few memchr-speed
    scans: milliseconds for the manifest of a 100,000-person gallery."""
    if any(mark in source for mark in _ESCAPES):
        return True
    if source.isascii():
        return False
    return source.startswith(_BOMS) or any(lead in source for lead in _FOUR_BYTE_LEADS)
