"""A person's face entries -> checked, hashed DesiredFaces.

Globs are expanded, every file is checked as the Face API would check it, and
the same bytes may appear only once per person. Unchanged files are answered
from the hash cache without being read. A warm load takes most persons through
a fast lane (listed_faces, known_faces): a batch of persons' photos stat-ed in
one C loop and looked up at once; a person the lane cannot vouch for (any
problem, a miss, a symlink) goes through person_faces, which words every problem.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
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

    def listed_faces(
        self, written: list[object], lines: list[int], ends: list[int]
    ) -> list[list[DesiredFace] | None]:
        """The faces of many persons' `faces` lists at once, each person's sorted by
        sha256; None for a person whose list holds more than paths and globs to
        regular files the hash cache knows, or any problem: person_faces() then
        takes that person. `written` holds the lists one after the other, person
        i's ending at ends[i]; `lines` the line of each entry."""
        kinds = _entry_kinds(written)
        if _OTHER not in kinds and _GLOB not in kinds:  # the common case: nothing to expand
            real_paths, stats = self.paths.plain_files(written)  # type: ignore[arg-type]
            return self.known_faces(written, real_paths, stats, lines, ends)  # type: ignore[arg-type]
        return self.known_faces(*self._mixed_files(written, kinds, lines, ends))

    def _mixed_files(
        self, written: list[object], kinds: list[str], lines: list[int], ends: list[int]
    ) -> tuple[list[str], list[str], list[os.stat_result | None], list[int], list[int]]:
        """known_faces' arguments for entries that are not all plain paths: globs
        expanded, each person with a long-form entry or an unusable glob left out (-1)."""
        _leave_persons_with_others(kinds, ends)
        plain = [w for w, kind in zip(written, kinds, strict=True) if kind is _PLAIN]
        plain_real, plain_stats = self.paths.plain_files(plain)  # type: ignore[arg-type]
        files_of = iter(zip(plain, plain_real, plain_stats, strict=True))
        paths: list[str] = []
        real_paths: list[str] = []
        stats: list[os.stat_result | None] = []
        entry_lines: list[int] = []
        file_ends: list[int] = []
        start = 0
        for end in ends:
            mark, usable = len(paths), _LEFT not in kinds[start:end]
            for at in range(start, end):
                if kinds[at] is _PLAIN:
                    files: list[ImageFile] | None = [ImageFile(*next(files_of))]
                else:
                    files = self._expanded(written[at]) if usable else None  # type: ignore[arg-type]
                    usable = usable and files is not None
                for file in files or ():
                    paths.append(file.path)
                    real_paths.append(file.abs_path)
                    stats.append(file.stat)
                    entry_lines.append(lines[at])
            if not usable:
                for made in (paths, real_paths, stats, entry_lines):
                    del made[mark:]
            file_ends.append(len(paths) if usable else -1)
            start = end
        return paths, real_paths, stats, entry_lines, file_ends

    def known_faces(
        self,
        paths: list[str],
        real_paths: list[str],
        stats: list[os.stat_result | None],
        lines: list[int],
        ends: list[int],
    ) -> list[list[DesiredFace] | None]:
        """The faces of files found regular (`stats`, None for any other), person i's
        ending at ends[i] (-1: that person is not taken here), each person's sorted;
        None for a person with a file the hash cache does not know (or sends
        downscaled), more than the limit, or the same bytes twice."""
        keys = self.cache.keys(paths, stats)
        if None in stats:
            sizes = [found.st_size if found is not None else 0 for found in stats]
        else:
            sizes = list(map(_SIZE, stats))
        faces = list(map(
            desired_face, paths, real_paths, keys, sizes, repeat(None), repeat(None),
            repeat(DEFAULT_DETECTION_MODEL), lines,
        ))
        found: list[list[DesiredFace] | None] = []
        start = 0
        for end in ends:
            if end < 0:
                found.append(None)
                continue
            mine = keys[start:end]
            if (
                None in mine
                or not 0 < end - start <= FACES_PER_PERSON_MAX
                or len(set(mine)) != end - start
            ):
                found.append(None)
            else:
                found.append(sorted(faces[start:end], key=_by_sha256))
            start = end
        return found

    def _expanded(self, written: str) -> list[ImageFile] | None:
        """The regular files a glob (or a path to normalise) names, or None when
        person_faces() has something to say about them."""
        try:
            files, problems = self.paths.expand(written)
        except PathProblem:
            return None
        if problems or any(f.stat is None or not S_ISREG(f.stat.st_mode) for f in files):
            return None
        return files

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
        for entry, files in expanded:
            for file in files:
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
        cached = self.cache.entry(file.path) if key is not None else None
        if key is None or cached is None:
            key, info = self._examine(file, found)
        else:
            info = cached.info
        target = entry.target_face
        if target is not None:
            problem = check_target_face(info, target)
            if problem:
                raise _Unusable(f"{file.path}: {problem}")
        return desired_face(
            file.path, file.abs_path, key, found.st_size, target, entry.user_data,
            entry.detection_model, entry.line, info.downscaled_from(found.st_size),
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


_by_sha256 = attrgetter("sha256")
_SIZE = attrgetter("st_size")
_PLAIN, _GLOB, _OTHER, _LEFT = "plain", "glob", "other", "left"
# What makes an entry need _NEEDS_EXPANSION, looked for in many entries joined by
# newlines (which none of them holds) with substring searches
_EXPANDED_PARTS = ("*", "?", "[", "/.", "//", "\n/", "\n.", "/\n", "\n\n")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _entry_kinds(written: list[object]) -> list[str]:
    """_PLAIN for each plain relative path, _GLOB for another text (a glob, a path
    to normalise), _OTHER for the rest: a few searches over all of them in the
    common case."""
    try:
        joined = "\n".join(written)  # type: ignore[arg-type]
    except TypeError:  # not only texts
        joined = None
    if (
        joined is not None
        and joined.count("\n") == len(written) - 1
        and not any(part in joined for part in _EXPANDED_PARTS)
        and joined[:1] not in ("", "\n", "/", ".")
        and joined[-1:] not in ("\n", "/")
        and _CONTROL_BUT_NEWLINE.search(joined) is None
    ):
        return [_PLAIN] * len(written)
    return [
        _OTHER if not isinstance(w, str) or not w
        else _GLOB if _NEEDS_EXPANSION.search(w)
        else _PLAIN
        for w in written
    ]


def _leave_persons_with_others(kinds: list[str], ends: list[int]) -> None:
    """Marks every entry of a person with an _OTHER entry (a long-form one) _LEFT:
    person_faces takes that person, and nothing of it is stat-ed here first."""
    start = 0
    for end in ends:
        if _OTHER in kinds[start:end]:
            kinds[start:end] = [_LEFT] * (end - start)
        start = end


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
