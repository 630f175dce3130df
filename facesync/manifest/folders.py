"""`personsFrom.folder`: a group's persons read from a folder layout.

One subfolder per person, named by the person key; the images inside it are
the person's faces. Names starting with `.` are skipped, other files are
ignored, subfolders of a person's folder are not read, and an image lying
directly in the top folder is an error (it belongs to no person).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from facesync.limits import PERSON_KEY_RE

from .paths import ImageFile, ImagePaths, PathProblem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
_SUFFIXES_TEXT = ", ".join(IMAGE_SUFFIXES)


@dataclass(frozen=True)
class PersonFolder:
    key: str
    path: str  # the folder as written relative to the manifest's folder, normalised
    files: tuple[ImageFile, ...]  # sorted by name


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def scan_person_folders(paths: ImagePaths, written: str) -> tuple[list[PersonFolder], list[str]]:
    """The person folders under `written` (sorted by key) and what is wrong with
    the others. Raises PathProblem when the folder itself cannot be used."""
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
        try:
            person = _person(paths, entry, rel, real_top)
        except PathProblem as exc:
            problems.append(exc.message)
            continue
        persons.append(person)
    return persons, problems


def _person(paths: ImagePaths, entry: os.DirEntry[str], rel: str, real_top: str) -> PersonFolder:
    # a folder that is no symlink lies where its parent does: no lstat needed
    real = paths.real_dir_of(rel) if entry.is_symlink() else f"{real_top.rstrip('/')}/{entry.name}"
    files = []
    for image in _listing(real, rel):
        name = image.name
        if name.startswith(".") or not is_image_name(name) or _is_dir(image):
            continue
        path = f"{rel}/{name}"
        if image.is_symlink():
            files.append(paths.file(path))
            continue
        try:  # the listing's lstat: a warm load's one system call per photo
            found = image.stat(follow_symlinks=False)
        except OSError:
            found = None  # the face check says what is wrong with it
        files.append(ImageFile(path, f"{real}/{name}", found))
    if not files:
        raise PathProblem(
            f"the folder '{rel}' holds no images ({_SUFFIXES_TEXT}): add photos of the "
            "person or remove the folder"
        )
    return PersonFolder(entry.name, rel, tuple(files))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _listing(real: str, rel: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(real) as found:
            return sorted(found, key=lambda e: e.name)
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
