"""The image hash cache in `.facesync/hashes.json` beside the manifest.

Keyed by the image's path with its size and mtime, so a re-plan neither reads
nor decodes photos that did not change. Format 2 keeps each entry as one text
with the image key (format 1, a mapping with the SHA-256 in hex, is read and
rewritten). Only images that passed every check
are cached. The cache is a convenience: a missing, corrupt or unwritable one is
silently rebuilt or skipped, never an error.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesync.atomic import write_atomically
from facesync.digest import image_key
from facesync.workspace import ensure_local_dir, hash_cache_path

from .images import ImageInfo

CACHE_VERSION = 2
# A file modified within this window of being hashed could change again within
# the same mtime tick without its size changing; such entries are not cached.
RACY_WINDOW_NS = 2_000_000_000
_KEY_LENGTH = 22  # facesync.digest.image_key


@dataclass(frozen=True)
class CachedImage:
    """One entry; in the file it is one text, `"<size> <mtime_ns> <image key>
    <width> <height> <format>"`, which loads several times faster than a mapping
    (a warm plan of 500,000 photos reads the whole file)."""

    size: int
    mtime_ns: int
    key: str  # facesync.digest.image_key of the bytes' SHA-256
    width: int
    height: int
    format: str

    @property
    def info(self) -> ImageInfo:
        return ImageInfo(self.format, self.width, self.height)

    def text(self) -> str:
        return f"{self.size} {self.mtime_ns} {self.key} {self.width} {self.height} {self.format}"


class HashCache:
    """Entries by path; `save()` writes only when something changed."""

    def __init__(self, folder: Path, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._entries, self._dirty = _read(folder) if enabled else ({}, False)
        self._used: set[str] = set()

    def lookup(self, path: str, stat: os.stat_result) -> str | None:
        """The image key cached for `path` if its size and mtime still match."""
        self._used.add(path)
        entry = self._entries.get(path)
        if entry is None:
            return None
        stamp = f"{stat.st_size} {stat.st_mtime_ns} "
        if not entry.startswith(stamp):
            return None
        start = len(stamp)
        key = entry[start : start + _KEY_LENGTH]
        return key if entry[start + _KEY_LENGTH : start + _KEY_LENGTH + 1] == " " else None

    def entry(self, path: str) -> CachedImage | None:
        """The whole entry of `path` (after a successful lookup), or None."""
        return _parse_text(self._entries.get(path))

    def store(self, path: str, stat: os.stat_result, sha256: str, info: ImageInfo) -> None:
        if not self.enabled or time.time_ns() - stat.st_mtime_ns < RACY_WINDOW_NS:
            return
        entry = CachedImage(
            stat.st_size, stat.st_mtime_ns, image_key(sha256), info.width, info.height, info.format
        ).text()
        if self._entries.get(path) != entry:
            self._entries[path] = entry
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically if it changed; drop entries of files that are gone."""
        if not self.enabled or not self._dirty:
            return
        for path in [p for p in self._entries if p not in self._used]:
            if not os.path.exists(self.folder / path):
                del self._entries[path]
        body = {"version": CACHE_VERSION, "entries": dict(sorted(self._entries.items()))}
        try:
            ensure_local_dir(self.folder)
            text = json.dumps(body) + "\n"
            write_atomically(hash_cache_path(self.folder), text.encode("utf-8"), new_mode=0o600)
        except OSError:
            return  # a read-only checkout still works, only without the cache
        self._dirty = False


def _read(folder: Path) -> tuple[dict[str, str], bool]:
    """The entries, and whether they must be written again (read from format 1)."""
    try:
        body = json.loads(hash_cache_path(folder).read_bytes())
    except (OSError, ValueError):
        return {}, False
    if not isinstance(body, dict) or not isinstance(body.get("entries"), dict):
        return {}, False
    raw = body["entries"]
    if body.get("version") == CACHE_VERSION:
        # checked one by one when looked up: a damaged entry is only a miss
        return {p: e for p, e in raw.items() if isinstance(e, str)}, False
    if body.get("version") == 1:
        entries = {}
        for path, fields in raw.items():
            entry = _parse_v1(fields)
            if entry is not None:
                entries[path] = entry.text()
        return entries, bool(entries)
    return {}, False


def _parse_text(text: str | None) -> CachedImage | None:
    parts = text.split(" ") if isinstance(text, str) else []
    if len(parts) != 6 or len(parts[2]) != _KEY_LENGTH:
        return None
    try:
        return CachedImage(int(parts[0]), int(parts[1]), parts[2], int(parts[3]), int(parts[4]),
                           parts[5])
    except ValueError:
        return None


def _parse_v1(fields: Any) -> CachedImage | None:
    """An entry of format 1: a mapping with the SHA-256 in hex."""
    if not isinstance(fields, dict) or set(fields) != {
        "size", "mtime_ns", "sha256", "width", "height", "format"
    }:
        return None
    ints = (fields["size"], fields["mtime_ns"], fields["width"], fields["height"])
    sha256, fmt = fields["sha256"], fields["format"]
    if not all(type(v) is int for v in ints) or not isinstance(fmt, str) or " " in fmt:
        return None
    if not (isinstance(sha256, str) and len(sha256) == 64):
        return None
    key = image_key(sha256)
    if len(key) != _KEY_LENGTH:
        return None
    return CachedImage(ints[0], ints[1], key, ints[2], ints[3], fmt)
