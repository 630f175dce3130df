"""Paths in two senses: where a value sits in the document
(`groups.staff.persons.alice.faces[2]`) and which image files a face entry
names (plain paths and globs, kept inside the manifest's folder)."""

from __future__ import annotations

import fnmatch
import functools
import glob
import operator
import os
import posixpath
import re
import stat
import unicodedata
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

_GLOB = re.compile(r"[*?\[]")
_OUTSIDE_HINT = "or pass --allow-outside"


class ImageFile(NamedTuple):
    """One file a face entry names: `path` as written (POSIX, normalised),
    `abs_path` resolved, and its lstat when that already tells its size and
    mtime (a regular file, not a symlink). A tuple: a gallery makes 500,000."""

    path: str
    abs_path: str
    stat: os.stat_result | None = None


class PathProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_glob(written: str) -> bool:
    return _GLOB.search(written) is not None


class ImagePaths:
    """Resolves face entries against the manifest's folder."""

    def __init__(self, folder: Path, *, allow_outside: bool) -> None:
        self.folder = folder
        self.real_folder = os.path.realpath(folder)
        self.allow_outside = allow_outside
        # real paths of folders by their path relative to the manifest's folder
        self._real_dirs: dict[str, str] = {"": self.real_folder}  # by relative path
        self._prefixes: dict[str, str] = {}  # the same, with a trailing "/"
        self._inside_dirs: set[str] = set()  # prefixes of folders known to be inside
        self._asked: dict[str, int] = {}  # _is_link's questions by folder
        self._inside_start = self.real_folder.rstrip(os.sep) + os.sep  # of what lies inside
        self._kinds: dict[str, dict[str, bool]] = {}  # whether each entry is a symlink

    def _real_dir(self, rel: str) -> str:
        """os.path.realpath of a folder, each resolved once from its parent's
        (thousands of photos share few folders; a person folder costs one lstat)."""
        real = self._real_dirs.get(rel)
        if real is not None:
            return real
        parent, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or rel.startswith("/") or parent.startswith(".."):
            real = os.path.realpath(os.path.join(self.folder, rel))
        else:
            parent_real = self._real_dirs.get(parent) or self._real_dir(parent)
            candidate = f"{parent_real.rstrip('/')}/{name}"  # os.path.join's, cheaper
            link = self._is_link(parent_real, name, candidate)
            real = os.path.realpath(candidate) if link else candidate
        self._real_dirs[rel] = real
        return real

    def _is_link(self, parent: str, name: str, path: str) -> bool:
        """os.path.islink(path), `path` being `name` in the folder `parent`: from one
        listing of `parent` once it is asked about many of its entries (a folder of
        100,000 person folders costs one scandir, not 100,000 lstats)."""
        kinds = self._kinds.get(parent)
        if kinds is None:
            asked = self._asked[parent] = self._asked.get(parent, 0) + 1
            if asked < _LIST_AFTER:
                return os.path.islink(path)
            kinds = self._kinds[parent] = _entry_kinds(parent)
        link = kinds.get(name)
        return os.path.islink(path) if link is None else link

    def expand(self, written: str) -> tuple[list[ImageFile], list[str]]:
        """The files `written` names (sorted) and the problems of those that may not be used.

        Raises PathProblem when the entry as a whole is wrong.
        """
        self._check_lexically(written)
        if is_glob(written):
            paths = self._one_folder_glob(written)
            if paths is None:
                matches = sorted(glob.glob(written, root_dir=self.folder, recursive=True))
                paths = [m for m in matches if os.path.isfile(self.folder / m)]
            if not paths:
                raise PathProblem(
                    f"the glob '{written}' matches no files: fix the pattern or add the images"
                )
        else:
            paths = [written]
        files: list[ImageFile] = []
        problems: list[str] = []
        for path in paths:
            try:
                files.append(self.file(posixpath.normpath(path)))
            except PathProblem as exc:
                problems.append(exc.message)
        return files, problems

    def _one_folder_glob(self, written: str) -> list[str] | None:
        """What glob.glob gives for a pattern in the last part only (`faces/bob/*.jpg`,
        the usual one), from one scandir of the folder and no stat per match; None
        for any other pattern."""
        head, _, tail = written.rpartition("/")
        if is_glob(head) or "**" in tail:
            return None
        rel = posixpath.normpath(head) if head else ""
        match = _pattern(tail)
        hidden_too = tail.startswith(".")  # as glob: * does not match a leading dot
        folder = "" if rel == "." else rel
        try:
            names = self._matching_names(self._real_dir(folder), match, hidden_too)
        except FileNotFoundError:
            twin = self.unicode_twin(folder)  # the cold path only
            try:
                names = self._matching_names(twin, match, hidden_too) if twin else []
            except OSError:
                return []
        except OSError:
            return []
        if not names and not tail.isascii():  # the cold path: names written in NFD on disk
            real = self._real_dir(folder)
            if not os.path.isdir(real):
                real = self.unicode_twin(folder) or real
            names = self._nfc_matching_names(real, tail, hidden_too)
        return [f"{head}/{name}" for name in names] if head else names

    def _nfc_matching_names(self, real: str, tail: str, hidden_too: bool) -> list[str]:
        """The entries whose names match `tail` once both are NFC (macOS writes NFD)."""
        match = _pattern(unicodedata.normalize("NFC", tail))
        try:
            with os.scandir(real) as entries:
                return sorted(
                    e.name for e in entries
                    if match(unicodedata.normalize("NFC", e.name))
                    and (hidden_too or e.name[0] != ".") and e.is_file()
                )
        except OSError:
            return []

    @staticmethod
    def _matching_names(
        real: str, match: Callable[[str], re.Match[str] | None], hidden_too: bool
    ) -> list[str]:
        with os.scandir(real) as entries:
            return sorted(
                e.name for e in entries
                if match(e.name) and (hidden_too or e.name[0] != ".") and e.is_file()
            )

    def folder_of(self, written: str) -> tuple[str, str]:
        """A folder named in the manifest: (its normalised path, '' for the
        manifest's own folder; its real path). Raises PathProblem."""
        self._check_lexically(written)
        normal = posixpath.normpath(written)
        rel = "" if normal == "." else normal
        real = self._real_dir(rel)
        self._check_inside(rel or ".", real)
        return rel, real

    def real_dir_of(self, rel: str) -> str:
        """The real path of a folder inside the manifest's folder; raises
        PathProblem when it is a symlink to outside."""
        real = self._real_dir(rel)
        self._check_inside(rel, real)
        return real

    def read_file(self, written: str, what: str, holds: str) -> bytes:
        """The bytes of a file named in the manifest (not an image), kept inside
        the folder as images are; raises PathProblem saying what to fix."""
        self._check_lexically(written)
        file = self.file(posixpath.normpath(written))
        try:
            return Path(file.abs_path).read_bytes()
        except FileNotFoundError:
            message = (
                f"the {what} '{file.path}' does not exist: create it ({holds}) or fix the path"
            )
        except IsADirectoryError:
            message = f"'{file.path}' is a folder, not a {what}: name the file ({holds})"
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot read the {what} '{file.path}' ({reason}): check its permissions"
        raise PathProblem(message)

    def _check_lexically(self, written: str) -> None:
        problem = unusable_name_problem(written)
        if problem:
            raise PathProblem(problem)
        if self.allow_outside:
            return
        if posixpath.isabs(written):
            raise PathProblem(
                f"the absolute path '{written}' is not allowed: write it relative to the "
                f"manifest's folder {_OUTSIDE_HINT}"
            )
        normal = posixpath.normpath(written)
        if normal == ".." or normal.startswith("../"):
            raise PathProblem(
                f"'{written}' leaves the manifest's folder: keep images inside it {_OUTSIDE_HINT}"
            )

    def prefix(self, folder: str) -> str:
        """The real path of the folder `folder` (relative, normalised) with a trailing '/'."""
        prefix = self._prefixes.get(folder)
        if prefix is None:
            prefix = self._prefixes[folder] = self._real_dir(folder).rstrip("/") + "/"
        return prefix

    def inside_prefix(self, folder: str) -> str | None:
        """prefix(folder) when the files in it may be used as they lie (the folder is
        inside the manifest's folder, or outside is allowed), else None: file() then
        says what is wrong. The plain-path fast lane's check, once per folder."""
        prefix = self.prefix(folder)
        if prefix in self._inside_dirs:
            return prefix
        if self.allow_outside or prefix.startswith(self._inside_start):
            self._inside_dirs.add(prefix)
            return prefix
        return None

    def _listed_prefix(self, folder: str) -> str | None:
        """inside_prefix(folder) of a folder inside the manifest's folder that a
        listing of its parent shows is no symlink, from that listing alone; else None."""
        prefix = self._prefixes.get(folder)
        if prefix is not None:
            return prefix if prefix in self._inside_dirs else None
        parent, _, name = folder.rpartition("/")
        parent_real = self._real_dirs.get(parent)
        kinds = self._kinds.get(parent_real) if parent_real is not None else None
        if kinds is None or kinds.get(name) is not False:
            return None
        real = self._real_dirs[folder] = f"{parent_real.rstrip('/')}/{name}"  # type: ignore[union-attr]
        prefix = self._prefixes[folder] = real + "/"
        if not prefix.startswith(self._inside_start):
            return None  # inside_prefix says whether it may be used
        self._inside_dirs.add(prefix)
        return prefix

    def plain_files(self, written: list[str]) -> tuple[list[str], list[os.stat_result | None]]:
        """file() of many plain paths at once (normalised, relative, no glob): their
        real paths and lstats, the lstat None where file() has more to say (a
        symlink, a missing file, anything but a regular file, a folder outside)."""
        parts = list(map(str.rpartition, written, repeat("/")))
        folders = list(map(_HEAD, parts))
        known = dict.fromkeys(folders, "")
        for folder in known:
            known[folder] = self._listed_prefix(folder) or self.inside_prefix(folder) or _OUTSIDE
        real_paths = list(map(str.__add__, map(known.__getitem__, folders), map(_TAIL, parts)))
        if _OUTSIDE in known.values():  # file() says why those may not be used
            real_paths = [p if not p.startswith(_OUTSIDE) else "" for p in real_paths]
        return real_paths, regular_lstats(real_paths)

    def file(self, path: str) -> ImageFile:
        """The file at the normalised `path`; raises PathProblem for a symlink out."""
        folder, _, name = path.rpartition("/")
        prefix = self.prefix(folder)
        candidate = prefix + name
        try:
            found = os.lstat(candidate)
        except OSError:
            found = None  # the face check says what is wrong with it
            twin = self.unicode_twin(path)  # the cold path only
            if twin is not None:
                candidate, found = twin, _lstat_or_none(twin)
                self._check_inside(path, os.path.realpath(os.path.dirname(twin)))
        if found is not None and stat.S_ISLNK(found.st_mode):
            real, found = os.path.realpath(candidate), None
            self._check_inside(path, real)
        else:
            real = candidate
            if prefix not in self._inside_dirs and self.inside_prefix(folder) is None:
                self._check_inside(path, real)
        return ImageFile(path, real, found)

    def unicode_twin(self, path: str) -> str | None:
        """Where `path` is on disk when its name is written in another Unicode
        normalisation (macOS writes file names in NFD, editors write NFC): each
        part is taken as written when it exists, else the one entry of its folder
        that is equal under NFC. None when there is no such path (or two).
        Only called once the exact name was not found."""
        if path.isascii():
            return None
        current = "/" if posixpath.isabs(path) else self.real_folder
        for part in path.split("/"):
            if part in ("", "."):
                continue
            exact = os.path.join(current, part)
            if part == ".." or os.path.lexists(exact):
                current = exact
                continue
            twin = _nfc_twin(current, part)
            if twin is None:
                return None
            current = os.path.join(current, twin)
        return current

    def twin_dir(self, rel: str) -> str | None:
        """The real path of the folder `rel` names in another Unicode normalisation
        (unicode_twin), or None; raises PathProblem when it is outside the folder."""
        twin = self.unicode_twin(rel)
        if twin is None:
            return None
        real = os.path.realpath(twin)
        self._check_inside(rel, real)
        return real

    def _check_inside(self, path: str, real: str) -> None:
        if not self.allow_outside and not _inside(real, self.real_folder):
            raise PathProblem(
                f"'{path}' is a symlink to {real}, outside the manifest's folder: copy the image "
                f"into the folder {_OUTSIDE_HINT}"
            )


def unusable_name_problem(written: str) -> str | None:
    """Why no file can have the name `written` (a NUL byte, from a YAML "\\0"
    escape), or None; the system calls would raise ValueError."""
    if "\0" in written:
        return (
            f"'{written}' holds a NUL byte, which no file name can hold: "
            "remove it from the path"
        )
    control = _CONTROL.search(written)
    if control is not None:  # it would reach the lock and every terminal that shows it
        return (
            f"{written!r} holds the control character {control.group()!r}: rename the "
            "file (and write its path) without it"
        )
    return None


_CONTROL = re.compile(r"[\x01-\x1f\x7f]")


def _nfc_twin(folder: str, name: str) -> str | None:
    """The one entry of `folder` whose name equals `name` under NFC, or None."""
    wanted = unicodedata.normalize("NFC", name)
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    twins = [n for n in names if unicodedata.normalize("NFC", n) == wanted]
    return twins[0] if len(twins) == 1 else None


def lstats(paths: list[str]) -> list[os.stat_result | None]:
    """The lstat of each path, None where it fails: one C loop over the system
    calls, not one Python call each."""
    found: list[os.stat_result | None] = []
    stats = map(os.lstat, paths)
    while True:
        try:
            found.extend(stats)  # resumes after a failed path: map goes on with the next
            return found
        except (OSError, ValueError):
            found.append(None)


def all_regular(found: list[os.stat_result | None]) -> bool:
    return None not in found and all(map(S_ISREG, map(_MODE, found)))


def regular_lstats(paths: list[str]) -> list[os.stat_result | None]:
    """The lstat of each path that is a regular file, None for the others (missing,
    a symlink, a folder...)."""
    found = lstats(paths)
    if not all_regular(found):
        found = [f if f is not None and S_ISREG(f.st_mode) else None for f in found]
    return found


_MODE = operator.attrgetter("st_mode")
_LIST_AFTER = 64  # entries of one folder _is_link asks lstat about before it lists the folder
_HEAD, _TAIL = operator.itemgetter(0), operator.itemgetter(2)  # of str.rpartition
_OUTSIDE = "\0"  # the prefix of a folder whose files plain_files leaves to file()


def _entry_kinds(folder: str) -> dict[str, bool]:
    """Whether each entry of `folder` is a symlink (nothing known when it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name: entry.is_symlink() for entry in entries}
    except OSError:
        return {}


def _lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


@functools.cache
def _pattern(name_pattern: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(fnmatch.translate(name_pattern)).match


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
