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
from itertools import repeat
from operator import attrgetter, itemgetter, ne
from pathlib import Path

from facesync.atomic import write_atomically
from facesync.digest import image_key
from facesync.image_fit import needs_downscale
from facesync.limits import IMAGE_MAX_BYTES
from facesync.workspace import ensure_local_dir, hash_cache_path

from .images import ImageInfo

CACHE_VERSION = 3
# A file modified within this window of being hashed could change again within
# the same mtime tick without its size changing; such entries are not cached.
RACY_WINDOW_NS = 2_000_000_000
_KEY_LENGTH = 22  # facesync.digest.image_key
# the parts of an entry after its stamp: "<key> <width> <height> <format>"
_KEY = itemgetter(slice(0, _KEY_LENGTH))
_SEPARATOR = itemgetter(slice(_KEY_LENGTH, _KEY_LENGTH + 1))
_SIDES = itemgetter(slice(_KEY_LENGTH + 1, None))
_STAMP_FIELDS = attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino")
_STAMP_FORMAT = "%d %d %d %d ".__mod__  # _stamp of _STAMP_FIELDS
_SIZE = attrgetter("st_size")


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
        self._used_lists: list[list[str]] = []  # keys()'s paths, made a set only to prune

    def keys(self, paths: list[str], stats: list[os.stat_result | None]) -> list[str | None]:
        """lookup() of many files at once (a warm load's one pass over its photos, in C
        loops): the image key of each path whose stat matches, None for the others
        (a stat None, a miss) and for a photo sent downscaled (entry() tells its size)."""
        self._used_lists.append(paths)
        found = list(map(self._entries.get, paths, repeat("")))
        if None in stats:  # NUL starts no entry: a miss
            stamps = [_STAMP_FORMAT(_STAMP_FIELDS(s)) if s is not None else "\0" for s in stats]
        else:
            stamps = list(map(_STAMP_FORMAT, map(_STAMP_FIELDS, stats)))
        rest = list(map(str.removeprefix, found, stamps))
        if all(map(ne, map(len, rest), map(len, found))) and set(map(_SEPARATOR, rest)) == {" "}:
            keys: list[str | None] = list(map(_KEY, rest))  # the warm case: every one a hit
            sides = set(map(_SIDES, rest))
        else:
            keys = [
                r[:_KEY_LENGTH] if len(r) < len(f) and r[_KEY_LENGTH : _KEY_LENGTH + 1] == " "
                else None
                for r, f in zip(rest, found, strict=True)
            ]
            sides = {r[_KEY_LENGTH + 1 :] for r, k in zip(rest, keys, strict=True) if k}
        if _any_sent_downscaled(sides, stats):  # rare: then each hit is looked at again
            keys = [k and self._as_sent(p, k) for p, k in zip(paths, keys, strict=True)]
        return keys

    def _as_sent(self, path: str, key: str) -> str | None:
        """`key`, or None when the cached image of `path` is sent downscaled."""
        cached = self.entry(path)
        if cached is None or needs_downscale(cached.size, cached.width, cached.height):
            return None
        return key

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
        used = self._used.union(*self._used_lists) if prune else self._used
        for path in [p for p in self._entries if prune and p not in used]:
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
    entries: dict[str, str] = body["entries"]
    if set(map(type, entries.values())) - {str}:  # the rare damaged file: keep the texts
        entries = {p: e for p, e in entries.items() if isinstance(e, str)}
    return entries, False


def _any_sent_downscaled(sides: set[str], stats: list[os.stat_result | None]) -> bool:
    """Whether a photo of these stats, or a cached image of these distinct
    `<width> <height> <format>` texts (a gallery has few), may be sent downscaled."""
    for text in sides:
        parts = text.split(" ")
        if len(parts) != 3 or not (parts[0].isdecimal() and parts[1].isdecimal()):
            return True  # a damaged entry: keys() looks at each
        if needs_downscale(0, int(parts[0]), int(parts[1])):
            return True
    return max(map(_SIZE, filter(None, stats)), default=0) > IMAGE_MAX_BYTES


def _stamp(size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    """The start of an entry: what says the file is still the one that was hashed."""
    return f"{size} {mtime_ns} {ctime_ns} {inode} "


def _parse_text(text: str | None) -> CachedImage | None:
    parts = text.split(" ") if isinstance(text, str) else []
    if len(parts) != 8 or len(parts[4]) != _KEY_LENGTH:
        return None
    size, mtime_ns, ctime_ns, inode, key, width, height, kind = parts
    try:
        return CachedImage(
            int(size), int(mtime_ns), int(ctime_ns), int(inode), key, int(width), int(height),
            kind,
        )
    except ValueError:
        return None
