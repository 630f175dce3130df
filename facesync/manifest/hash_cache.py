"""The image hash cache in `.facesync/hashes.json` beside the manifest.

Keyed by the image's path with its size, mtime, ctime and inode, so a re-plan
neither reads nor decodes photos that did not change. Size and mtime alone are
not enough: a photo copied over another with its timestamp kept (`cp -p`,
`rsync -a`, `tar x`) often has both; but no one can set a file's ctime, which
every write, copy or rename moves, and a file put in place by a rename has a new
inode. All four come from the one lstat the loader makes anyway.

Format 3 keeps each entry as one text with the image key; a cache of an older
format (1 and 2 recorded no ctime nor inode) is ignored and rebuilt. Only
images that passed every check are cached. The cache is a convenience: a
missing, corrupt or unwritable one is silently rebuilt or skipped, never an
error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from facesync.atomic import write_atomically
from facesync.digest import image_key
from facesync.workspace import ensure_local_dir, hash_cache_path

from .images import ImageInfo

CACHE_VERSION = 3
# A file modified within this window of being hashed could change again within
# the same mtime tick without its size changing; such entries are not cached.
RACY_WINDOW_NS = 2_000_000_000
_KEY_LENGTH = 22  # facesync.digest.image_key


@dataclass(frozen=True)
class CachedImage:
    """One entry; in the file it is one text, `"<size> <mtime_ns> <ctime_ns> <inode>
    <image key> <width> <height> <format>"`, which loads several times faster
    than a mapping (a warm plan of 500,000 photos reads the whole file)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    key: str  # facesync.digest.image_key of the bytes' SHA-256
    width: int
    height: int
    format: str

    @property
    def info(self) -> ImageInfo:
        return ImageInfo(self.format, self.width, self.height)

    def text(self) -> str:
        return (
            f"{_stamp(self.size, self.mtime_ns, self.ctime_ns, self.inode)}{self.key} "
            f"{self.width} {self.height} {self.format}"
        )


class HashCache:
    """Entries by path; `save()` writes only when something changed."""

    def __init__(self, folder: Path, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._entries, self._dirty = _read(folder) if enabled else ({}, False)
        self._used: set[str] = set()

    def lookup(self, path: str, stat: os.stat_result) -> str | None:
        """The image key cached for `path` if its size, mtime, ctime and inode still match."""
        self._used.add(path)
        entry = self._entries.get(path)
        if entry is None:
            return None
        # _stamp, written out: this runs once per photo of a warm plan
        stamp = f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_ino} "
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
            stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, image_key(sha256),
            info.width, info.height, info.format,
        ).text()
        if self._entries.get(path) != entry:
            self._entries[path] = entry
            self._dirty = True

    def forget(self, path: str) -> None:
        """Drop the entry of `path` (its bytes proved not to be the cached ones)."""
        if self._entries.pop(path, None) is not None:
            self._dirty = True

    def save(self, *, prune: bool = True) -> None:
        """Write the cache atomically if it changed; drop entries of files that are
        gone (unless not `prune`: that costs a stat per entry no load looked up)."""
        if not self.enabled or not self._dirty:
            return
        for path in [p for p in self._entries if prune and p not in self._used]:
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


def forget_entries(folder: Path, paths: Iterable[str]) -> None:
    """Drop the entries of `paths` from the cache beside the manifest in `folder`.

    For apply, when a photo's bytes are not the ones its plan was made with: the
    next plan then reads it again whatever its stat says (a file system whose
    ctime does not move on a write). Keeps every other entry as it is.
    """
    cache = HashCache(folder)
    for path in paths:
        cache.forget(path)
    cache.save(prune=False)


def _read(folder: Path) -> tuple[dict[str, str], bool]:
    """The entries, and whether they must be written again (an older format's cache,
    whose entries are dropped: they lack the ctime and inode)."""
    try:
        body = json.loads(hash_cache_path(folder).read_bytes())
    except (OSError, ValueError):
        return {}, False
    if not isinstance(body, dict) or not isinstance(body.get("entries"), dict):
        return {}, False
    if body.get("version") != CACHE_VERSION:
        return {}, body.get("version") in (1, 2)
    # checked one by one when looked up: a damaged entry is only a miss
    return {p: e for p, e in body["entries"].items() if isinstance(e, str)}, False


def _stamp(size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    """The start of an entry: what says the file is still the one that was hashed."""
    return f"{size} {mtime_ns} {ctime_ns} {inode} "


def _parse_text(text: str | None) -> CachedImage | None:
    parts = text.split(" ") if isinstance(text, str) else []
    if len(parts) != 8 or len(parts[4]) != _KEY_LENGTH:
        return None
    try:
        size, mtime_ns, ctime_ns, inode, width, height = (
            int(parts[i]) for i in (0, 1, 2, 3, 5, 6)
        )
    except ValueError:
        return None
    return CachedImage(size, mtime_ns, ctime_ns, inode, parts[4], width, height, parts[7])
