"""Paths in two senses: where a value sits in the document
(`groups.staff.persons.alice.faces[2]`) and which image files a face entry
names (plain paths and globs, kept inside the manifest's folder)."""

from __future__ import annotations

import fnmatch
import functools
import glob
import os
import posixpath
import re
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path
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
            candidate = os.path.join(self._real_dir(parent), name)
            real = os.path.realpath(candidate) if os.path.islink(candidate) else candidate
        self._real_dirs[rel] = real
        return real

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

    def file(self, path: str) -> ImageFile:
        """The file at the normalised `path`; raises PathProblem for a symlink out."""
        folder, _, name = path.rpartition("/")
        prefix = self._prefixes.get(folder)
        if prefix is None:
            real_dir = self._real_dir(folder)
            prefix = self._prefixes[folder] = real_dir.rstrip("/") + "/"
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
            if prefix not in self._inside_dirs:
                self._check_inside(path, real)
                self._inside_dirs.add(prefix)
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
