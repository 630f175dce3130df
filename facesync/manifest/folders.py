"""`personsFrom.folder`: a group's persons read from a folder layout.

One subfolder per person, named by the person key; the images inside it are
the person's faces. Names starting with `.` are skipped, other files are
ignored, subfolders of a person's folder are not read, and an image lying
directly in the top folder is an error (it belongs to no person).
"""

from __future__ import annotations

import os
import posixpath
import stat
from operator import attrgetter, methodcaller
from typing import NamedTuple

from facesync.limits import PERSON_KEY_RE

from .paths import ImageFile, ImagePaths, PathProblem, all_regular, lstats

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
_SUFFIXES_TEXT = ", ".join(IMAGE_SUFFIXES)


class PersonFolder(NamedTuple):
    """One person's folder (a tuple: a gallery has 100,000)."""

    key: str
    path: str  # the folder as written relative to the manifest's folder, normalised
    real: str  # its real path


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def scan_person_folders(paths: ImagePaths, written: str) -> tuple[list[PersonFolder], list[str]]:
    """The person folders under `written` (sorted by key; their images are found by
    images_of or listed_images) and what is wrong with the others. Raises
    PathProblem when the folder itself cannot be used."""
    top, real_top = paths.folder_of(written)
    try:
        entries = _listing(real_top, top or ".")
    except PathProblem:
        twin = paths.twin_dir(top)  # written NFC, NFD on disk (macOS): the cold path only
        if twin is None:
            raise
        real_top = twin
        entries = _listing(real_top, top)
    persons: list[PersonFolder] = []
    problems: list[str] = []
    top_prefix = real_top.rstrip("/") + "/"
    for entry in entries:
        name = entry.name
        rel = f"{top}/{name}" if top else name
        if name.startswith("."):
            continue
        if not _is_dir(entry):
            if is_image_name(name):
                problems.append(
                    f"'{rel}' is an image directly in '{top or '.'}', which holds one folder "
                    f"per person: move it into its person's folder ({top or '.'}/<person key>/)"
                )
            continue
        if not PERSON_KEY_RE.match(name):
            problems.append(
                f"the folder '{rel}' is not named by a valid person key: rename it to 1-64 of "
                "A-Z, a-z, 0-9, ., _ and -"
            )
            continue
        try:  # a folder that is no symlink lies where its parent does: no lstat needed
            real = paths.real_dir_of(rel) if entry.is_symlink() else f"{top_prefix}{name}"
        except PathProblem as exc:
            problems.append(exc.message)
            continue
        persons.append(PersonFolder(name, rel, real))
    return persons, problems


def images_of(paths: ImagePaths, folder: PersonFolder) -> tuple[ImageFile, ...]:
    """The image files of a person folder, sorted by name; raises PathProblem."""
    files = []
    for image in _listing(folder.real, folder.path):
        name = image.name
        if name.startswith(".") or not is_image_name(name) or _is_dir(image):
            continue
        path = f"{folder.path}/{name}"
        if image.is_symlink():
            files.append(paths.file(path))
            continue
        try:  # the listing's lstat
            found = image.stat(follow_symlinks=False)
        except OSError:
            found = None  # the face check says what is wrong with it
        files.append(ImageFile(path, f"{folder.real}/{name}", found))
    if not files:
        raise PathProblem(
            f"the folder '{folder.path}' holds no images ({_SUFFIXES_TEXT}): add photos of "
            "the person or remove the folder"
        )
    return tuple(files)


class Listed(NamedTuple):
    """The image files of many person folders, one folder after the other."""

    paths: list[str]
    real_paths: list[str]
    stats: list[os.stat_result | None]  # lstats, all of regular files
    ends: list[int]  # where folder i's files end; -1: images_of must read that folder


def listed_images(folders: list[PersonFolder]) -> Listed:
    """images_of() of many folders at once, for the common case of folders that hold
    regular files only (beside hidden and other files, and subfolders): one listing
    per folder and one C loop over the lstats of all their images."""
    paths: list[str] = []
    real_paths: list[str] = []
    ends: list[int] = []
    for folder in folders:
        try:
            names = os.listdir(folder.real)
        except OSError:  # images_of says why
            ends.append(-1)
            continue
        names.sort()
        if any(map(_HIDDEN, names)) or not all(map(_IMAGE, map(str.lower, names))):
            names = [n for n in names if n[0] != "." and is_image_name(n)]
        paths += map((folder.path + "/").__add__, names)
        real_paths += map((folder.real + "/").__add__, names)
        ends.append(len(paths) if names else -1)
    found = lstats(real_paths)
    if not all_regular(found):
        return _without_folders(Listed(paths, real_paths, found, ends))
    return Listed(paths, real_paths, found, ends)


_NAME = attrgetter("name")
_HIDDEN = methodcaller("startswith", ".")
_IMAGE = methodcaller("endswith", IMAGE_SUFFIXES)  # of a lower-case name


def _without_folders(listed: Listed) -> Listed:
    """`listed` without subfolders (which images_of skips); a person folder with
    anything else but regular files (a symlink, a file gone) is left to images_of."""
    kept = Listed([], [], [], [])
    start = 0
    for end in listed.ends:
        if end < 0:
            kept.ends.append(-1)
            continue
        files = [i for i in range(start, end) if not _is_folder(listed.stats[i])]
        start = end
        if not files or not all(_is_regular(listed.stats[i]) for i in files):
            kept.ends.append(-1)
            continue
        for i in files:
            kept.paths.append(listed.paths[i])
            kept.real_paths.append(listed.real_paths[i])
            kept.stats.append(listed.stats[i])
        kept.ends.append(len(kept.paths))
    return kept


def _is_folder(found: os.stat_result | None) -> bool:
    return found is not None and stat.S_ISDIR(found.st_mode)


def _is_regular(found: os.stat_result | None) -> bool:
    return found is not None and stat.S_ISREG(found.st_mode)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _listing(real: str, rel: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(real) as found:
            return sorted(found, key=_NAME)
    except FileNotFoundError:
        raise PathProblem(
            f"the folder '{rel}' does not exist: create it with one subfolder per person, "
            "or fix the path (it is relative to the manifest's folder)"
        ) from None
    except NotADirectoryError:
        raise PathProblem(
            f"'{rel}' is not a folder: name a folder that holds one subfolder per person"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"cannot list the folder '{rel}' ({reason}): check its permissions"
        raise PathProblem(message) from None


def normalised_folder(written: str) -> str:
    """`people/` and `./people` as `people`; the manifest's own folder as ''."""
    normal = posixpath.normpath(written)
    return "" if normal == "." else normal
