"""The image hash cache in `.facesync/hashes.json` beside the manifest.

Keyed by the image's path with its size and mtime, so a re-plan neither reads
nor decodes photos that did not change. Only images that passed every check
are cached. The cache is a convenience: a missing, corrupt or unwritable one is
silently rebuilt or skipped, never an error.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facesync.atomic import write_atomically
from facesync.workspace import ensure_local_dir, hash_cache_path

from .images import ImageInfo

CACHE_VERSION = 1
# A file modified within this window of being hashed could change again within
# the same mtime tick without its size changing; such entries are not cached.
RACY_WINDOW_NS = 2_000_000_000


@dataclass(frozen=True)
class CachedImage:
    size: int
    mtime_ns: int
    sha256: str
    width: int
    height: int
    format: str

    @property
    def info(self) -> ImageInfo:
        return ImageInfo(self.format, self.width, self.height)


class HashCache:
    """Entries by path; `save()` writes only when something changed."""

    def __init__(self, folder: Path, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._entries: dict[str, CachedImage] = _read(folder) if enabled else {}
        self._used: set[str] = set()
        self._dirty = False

    def lookup(self, path: str, stat: os.stat_result) -> CachedImage | None:
        """The cached result for `path` if its size and mtime still match."""
        self._used.add(path)
        entry = self._entries.get(path)
        if entry and entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns:
            return entry
        return None

    def store(self, path: str, stat: os.stat_result, sha256: str, info: ImageInfo) -> None:
        if not self.enabled or time.time_ns() - stat.st_mtime_ns < RACY_WINDOW_NS:
            return
        entry = CachedImage(
            stat.st_size, stat.st_mtime_ns, sha256, info.width, info.height, info.format
        )
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
        body = {
            "version": CACHE_VERSION,
            "entries": {path: _entry_json(e) for path, e in sorted(self._entries.items())},
        }
        try:
            ensure_local_dir(self.folder)
            text = json.dumps(body) + "\n"
            write_atomically(hash_cache_path(self.folder), text.encode("utf-8"), new_mode=0o600)
        except OSError:
            return  # a read-only checkout still works, only without the cache
        self._dirty = False


def _entry_json(entry: CachedImage) -> dict[str, Any]:
    return asdict(entry)


def _read(folder: Path) -> dict[str, CachedImage]:
    try:
        body = json.loads(hash_cache_path(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(body, dict) or body.get("version") != CACHE_VERSION:
        return {}
    raw = body.get("entries")
    if not isinstance(raw, dict):
        return {}
    entries = {}
    for path, fields in raw.items():
        entry = _parse_entry(fields)
        if entry is not None:
            entries[path] = entry
    return entries


def _parse_entry(fields: Any) -> CachedImage | None:
    try:
        entry = CachedImage(**fields)
    except TypeError:
        return None
    ints = (entry.size, entry.mtime_ns, entry.width, entry.height)
    if not all(type(v) is int for v in ints):
        return None
    if not (isinstance(entry.sha256, str) and len(entry.sha256) == 64):
        return None
    return entry if isinstance(entry.format, str) else None
