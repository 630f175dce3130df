"""Paths in two senses: where a value sits in the document
(`groups.staff.persons.alice.faces[2]`) and which image files a face entry
names (plain paths and globs, kept inside the manifest's folder)."""

from __future__ import annotations

import glob
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

_GLOB_CHARS = frozenset("*?[")
_OUTSIDE_HINT = "or pass --allow-outside"


@dataclass(frozen=True)
class ImageFile:
    """One file a face entry names: `path` as written (POSIX, normalised), `abs_path` resolved."""

    path: str
    abs_path: Path


class PathProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_glob(written: str) -> bool:
    return any(char in _GLOB_CHARS for char in written)


class ImagePaths:
    """Resolves face entries against the manifest's folder."""

    def __init__(self, folder: Path, *, allow_outside: bool) -> None:
        self.folder = folder
        self.real_folder = os.path.realpath(folder)
        self.allow_outside = allow_outside
        self._real_dirs: dict[str, str] = {}

    def _realpath(self, path: str) -> str:
        """os.path.realpath, with each folder resolved once (thousands of photos share few)."""
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or os.path.islink(path):
            return os.path.realpath(path)
        real = self._real_dirs.get(folder)
        if real is None:
            real = self._real_dirs[folder] = os.path.realpath(folder)
        return os.path.join(real, name)

    def expand(self, written: str) -> tuple[list[ImageFile], list[str]]:
        """The files `written` names (sorted) and the problems of those that may not be used.

        Raises PathProblem when the entry as a whole is wrong.
        """
        self._check_lexically(written)
        if is_glob(written):
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
                files.append(self._file(posixpath.normpath(path)))
            except PathProblem as exc:
                problems.append(exc.message)
        return files, problems

    def _check_lexically(self, written: str) -> None:
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

    def _file(self, path: str) -> ImageFile:
        real = self._realpath(os.path.join(self.folder, path))
        if not self.allow_outside and not _inside(real, self.real_folder):
            raise PathProblem(
                f"'{path}' is a symlink to {real}, outside the manifest's folder: copy the image "
                f"into the folder {_OUTSIDE_HINT}"
            )
        return ImageFile(path, Path(real))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
