"""A person's face entries -> checked, hashed DesiredFaces.

Globs are expanded, every file is checked as the Face API would check it, and
the same bytes may appear only once per person. Unchanged files are answered
from the hash cache without being read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

from facesync.digest import image_key
from facesync.limits import FACES_PER_PERSON_MAX
from facesync.manifest.model import (
    DEFAULT_DETECTION_MODEL,
    DesiredFace,
    TargetFace,
    desired_face,
)

from .hash_cache import HashCache
from .images import ImageInfo, ImageProblem, check_image_bytes, check_target_face, size_problem
from .paths import ImageFile, ImagePaths, PathProblem
from .yaml_source import DocPath


class FaceEntry(NamedTuple):
    """One entry of a person's `faces` list, after the schema accepted it (a
    tuple: a gallery makes 500,000)."""

    written: str
    path: DocPath
    line: int
    target_face: TargetFace | None = None
    user_data: str | None = None
    detection_model: str = DEFAULT_DETECTION_MODEL


@dataclass(frozen=True)
class Located:
    path: DocPath
    line: int
    message: str
    file: str | None = None  # another file than the manifest (a personsFrom.details CSV)


# A glob, an absolute path, a `.`/`..` part, a path to normalise or a control character
# (which no file name can hold): the entry takes ImagePaths.expand's work, and
# its checks.
_NEEDS_EXPANSION = re.compile(r"[*?\[\x00-\x1f\x7f]|^[/.]|/\.|//|/$")


class _Unusable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_image_bytes(path: Path) -> bytes:
    """Every image read goes through here (tests count the calls)."""
    return path.read_bytes()


class FaceChecker:
    def __init__(self, paths: ImagePaths, cache: HashCache) -> None:
        self.paths = paths
        self.cache = cache

    def person_faces(
        self, entries: list[FaceEntry], faces_path: DocPath, faces_line: int, listed: int
    ) -> tuple[list[DesiredFace], list[Located]]:
        """The person's faces sorted by sha256, and every problem found on the way.

        `listed` is the length of the `faces` list as written (the schema
        already reported a list that is too long).
        """
        expanded: list[tuple[FaceEntry, list[ImageFile]]] = []
        problems: list[Located] = []
        count = 0
        for entry in entries:
            written = entry.written
            if _NEEDS_EXPANSION.search(written):
                try:
                    files, path_problems = self.paths.expand(written)
                except PathProblem as exc:
                    problems.append(Located(entry.path, entry.line, exc.message))
                    continue
                problems += [Located(entry.path, entry.line, m) for m in path_problems]
                count += len(path_problems)
            else:  # a plain, normal relative path: the common case, without a glob's work
                try:
                    files = [self.paths.file(written)]
                except PathProblem as exc:
                    problems.append(Located(entry.path, entry.line, exc.message))
                    count += 1
                    continue
            count += len(files)
            expanded.append((entry, files))
        faces = self._faces(expanded, problems, listed_twice=_twice)
        if count > FACES_PER_PERSON_MAX >= listed:
            problems.append(
                Located(
                    faces_path,
                    faces_line,
                    f"the person has {count} face images after glob expansion, more than "
                    f"the limit of {FACES_PER_PERSON_MAX}: remove some",
                )
            )
        return faces, problems

    def folder_faces(
        self, folder: str, files: tuple[ImageFile, ...], where: DocPath, line: int
    ) -> tuple[list[DesiredFace], list[Located]]:
        """The faces of a person folder (personsFrom), all located at `where`."""
        problems: list[Located] = []
        if len(files) > FACES_PER_PERSON_MAX:
            problems.append(Located(where, line, (
                f"the folder '{folder}' holds {len(files)} images, more than the limit of "
                f"{FACES_PER_PERSON_MAX} per person: remove some"
            )))
        entry = FaceEntry(folder, where, line)
        faces = self._faces([(entry, list(files))], problems, listed_twice=_twice_in_folder)
        return faces, problems

    def _faces(
        self,
        expanded: list[tuple[FaceEntry, list[ImageFile]]],
        problems: list[Located],
        listed_twice: Callable[[DesiredFace, DesiredFace], str],
    ) -> list[DesiredFace]:
        faces: list[DesiredFace] = []
        first_seen: dict[str, DesiredFace] = {}
        lookup = self.cache.lookup
        for entry, files in expanded:
            plain = entry.target_face is None
            for file in files:
                # the common case first: a regular file the hash cache knows
                found = file.stat
                key = (
                    lookup(file.path, found)
                    if plain and found is not None and S_ISREG(found.st_mode)
                    else None
                )
                if key is not None:
                    face = desired_face(
                        file.path, file.abs_path, key, found.st_size, None,  # type: ignore[union-attr]
                        entry.user_data, entry.detection_model, entry.line,
                    )
                else:
                    try:
                        face = self._face(entry, file)
                    except _Unusable as exc:
                        problems.append(Located(entry.path, entry.line, exc.message))
                        continue
                earlier = first_seen.setdefault(face.sha256, face)
                if earlier is not face:
                    problems.append(Located(entry.path, entry.line, listed_twice(face, earlier)))
                    continue
                faces.append(face)
        if len(faces) > 1:
            faces.sort(key=_by_sha256)
        return faces

    def _face(self, entry: FaceEntry, file: ImageFile) -> DesiredFace:
        found = file.stat if file.stat is not None and S_ISREG(file.stat.st_mode) else None
        if found is None:
            found = _stat(file)
        key = self.cache.lookup(file.path, found)
        target = entry.target_face
        if key is None:
            key, info = self._examine(file, found)
        elif target is not None:
            cached = self.cache.entry(file.path)
            info = cached.info if cached is not None else self._examine(file, found)[1]
        if target is not None:
            problem = check_target_face(info, target)
            if problem:
                raise _Unusable(f"{file.path}: {problem}")
        return desired_face(
            file.path, file.abs_path, key, found.st_size, target, entry.user_data,
            entry.detection_model, entry.line,
        )

    def _examine(self, file: ImageFile, found: os.stat_result) -> tuple[str, ImageInfo]:
        """(image key, info) of a usable image read from disk; raises _Unusable."""
        problem = size_problem(found.st_size)
        if problem:  # refuse a huge file before reading it
            raise _Unusable(f"{file.path}: {problem}")
        try:
            data = read_image_bytes(Path(file.abs_path))
        except OSError as exc:
            raise _Unusable(_unreadable(file, exc)) from None
        try:
            info = check_image_bytes(data)
        except ImageProblem as exc:
            raise _Unusable(f"{file.path}: {exc.message}") from None
        sha256 = hashlib.sha256(data).hexdigest()
        self.cache.store(file.path, found, sha256, info)
        return image_key(sha256), info  # the short identity the lock keeps


def _by_sha256(face: DesiredFace) -> str:
    return face.sha256


def _stat(file: ImageFile) -> os.stat_result:
    try:
        result = os.stat(file.abs_path)
    except FileNotFoundError:
        raise _Unusable(
            f"'{file.path}' does not exist: fix the path (it is relative to the manifest's folder)"
        ) from None
    except OSError as exc:
        raise _Unusable(_unreadable(file, exc)) from None
    if stat.S_ISDIR(result.st_mode):
        raise _Unusable(
            f"'{file.path}' is a folder, not an image: name a file in it "
            f"or use a glob such as '{file.path}/*.jpg'"
        )
    if not stat.S_ISREG(result.st_mode):
        raise _Unusable(f"'{file.path}' is not a regular file: name an image file")
    return result


def _unreadable(file: ImageFile, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"'{file.path}' cannot be read ({reason}): check that it exists and is readable"


def _twice_in_folder(face: DesiredFace, earlier: DesiredFace) -> str:
    return f"'{face.path}' has the same bytes as '{earlier.path}': delete one of them"


def _twice(face: DesiredFace, earlier: DesiredFace) -> str:
    if face.path == earlier.path:
        return f"'{face.path}' is listed twice (also on line {earlier.line}): list each image once"
    return (
        f"'{face.path}' has the same bytes as '{earlier.path}' (line {earlier.line}): "
        "list each image once"
    )
