"""A person's face entries -> checked, hashed DesiredFaces.

Globs are expanded, every file is checked as the Face API would check it, and
the same bytes may appear only once per person. Unchanged files are answered
from the hash cache without being read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from facesync.digest import image_key
from facesync.limits import FACES_PER_PERSON_MAX
from facesync.manifest.model import DEFAULT_DETECTION_MODEL, DesiredFace, TargetFace

from .hash_cache import HashCache
from .images import ImageInfo, ImageProblem, check_image_bytes, check_target_face, size_problem
from .paths import ImageFile, ImagePaths, PathProblem
from .yaml_source import DocPath


@dataclass(frozen=True)
class FaceEntry:
    """One entry of a person's `faces` list, after the schema accepted it."""

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
        faces: list[DesiredFace] = []
        problems: list[Located] = []
        first_seen: dict[str, DesiredFace] = {}
        expanded = 0
        for entry in entries:
            try:
                files, path_problems = self.paths.expand(entry.written)
            except PathProblem as exc:
                problems.append(Located(entry.path, entry.line, exc.message))
                continue
            problems += [Located(entry.path, entry.line, m) for m in path_problems]
            expanded += len(files) + len(path_problems)
            for file in files:
                try:
                    face = self._face(entry, file)
                except _Unusable as exc:
                    problems.append(Located(entry.path, entry.line, exc.message))
                    continue
                earlier = first_seen.setdefault(face.sha256, face)
                if earlier is not face:
                    problems.append(Located(entry.path, entry.line, _twice(face, earlier)))
                    continue
                faces.append(face)
        if expanded > FACES_PER_PERSON_MAX >= listed:
            problems.append(
                Located(
                    faces_path,
                    faces_line,
                    f"the person has {expanded} face images after glob expansion, more than "
                    f"the limit of {FACES_PER_PERSON_MAX}: remove some",
                )
            )
        faces.sort(key=lambda f: f.sha256)
        return faces, problems

    def _face(self, entry: FaceEntry, file: ImageFile) -> DesiredFace:
        sha256, size, info = self._examine(file)
        if entry.target_face is not None:
            problem = check_target_face(info, entry.target_face)
            if problem:
                raise _Unusable(f"{file.path}: {problem}")
        return DesiredFace(
            path=file.path,
            abs_path=file.abs_path,
            sha256=image_key(sha256),  # the short identity the lock keeps
            size=size,
            target_face=entry.target_face,
            user_data=entry.user_data,
            detection_model=entry.detection_model,
            line=entry.line,
        )

    def _examine(self, file: ImageFile) -> tuple[str, int, ImageInfo]:
        """(sha256, size, info) of a usable image; raises _Unusable."""
        info_of_file = _stat(file)
        cached = self.cache.lookup(file.path, info_of_file)
        if cached is not None:
            return cached.sha256, cached.size, cached.info
        problem = size_problem(info_of_file.st_size)
        if problem:  # refuse a huge file before reading it
            raise _Unusable(f"{file.path}: {problem}")
        try:
            data = read_image_bytes(file.abs_path)
        except OSError as exc:
            raise _Unusable(_unreadable(file, exc)) from None
        try:
            info = check_image_bytes(data)
        except ImageProblem as exc:
            raise _Unusable(f"{file.path}: {exc.message}") from None
        sha256 = hashlib.sha256(data).hexdigest()
        self.cache.store(file.path, info_of_file, sha256, info)
        return sha256, len(data), info


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


def _twice(face: DesiredFace, earlier: DesiredFace) -> str:
    if face.path == earlier.path:
        return f"'{face.path}' is listed twice (also on line {earlier.line}): list each image once"
    return (
        f"'{face.path}' has the same bytes as '{earlier.path}' (line {earlier.line}): "
        "list each image once"
    )
