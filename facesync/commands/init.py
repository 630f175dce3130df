"""`facesync init [FOLDER]`: write a first manifest from a folder of photos, one
subfolder per person.

FOLDER defaults to the manifest's folder (the current folder for the default
`facesync.yaml`). Every person is written out with each of its photos on a line
of its own, so that the file shows the whole format on the user's own photos and
any photo can be turned into the long form (targetFace, userData) where it
stands. The text is checked by facesync's own loader and, where the local
detector is installed, by the face checks validate runs: a photo they refuse
stays in the file as a comment saying why, so the written manifest is always
valid. It never overwrites a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import click

from facesync.commands.common import say
from facesync.commands.init_text import (
    Person,
    Photo,
    display_name,
    group_naming,
    person_keys,
    render,
)
from facesync.commands.options import GlobalOptions
from facesync.errors import FacesyncError, ManifestError, UsageError
from facesync.limits import FACES_PER_PERSON_MAX
from facesync.manifest.folders import is_image_name
from facesync.manifest.load import load_manifest
from facesync.manifest.model import Manifest
from facesync.state.lock_file import lock_path_for

_TOO_MANY = (f"a person holds at most {FACES_PER_PERSON_MAX} photos: "
             "uncomment it in place of another")


@dataclass(frozen=True)
class _Layout:
    persons: list[Person]
    skipped: list[str]  # what the scan left out, and why


def run(options: GlobalOptions, *, folder: Path | None) -> int:
    target = options.named_manifest
    if os.path.lexists(target):
        raise UsageError(
            f"{target} already exists: facesync init never overwrites a manifest; "
            "edit it, or pass -m NEW.yaml to write another one"
        )
    base = target.parent
    if not base.is_dir():
        raise UsageError(f"the folder {base} of {target} does not exist: create it first")
    top = folder if folder is not None else base
    rel_top = _relative(top, base, allow_outside=options.allow_outside)
    layout = _scan(top, rel_top)
    group_id, group_name = group_naming(Path(os.path.abspath(top)).name)
    text = _checked_text(target, group_id, group_name, layout.persons, rel_top, options)
    _write_new(target, text)
    for note in layout.skipped + _left_out(layout.persons, target):
        say(f"warning: {note}")
    _print_next(target, options, group_id, layout.persons, rel_top)
    return 0


def _relative(top: Path, base: Path, *, allow_outside: bool) -> str:
    """FOLDER as the manifest writes its paths: relative to the manifest's folder."""
    if not top.is_dir():
        what = "is not a folder" if top.exists() else "does not exist"
        raise UsageError(
            f"{top} {what}: name the folder of photos, one subfolder per person "
            "(facesync init FOLDER)"
        )
    rel = Path(os.path.relpath(os.path.abspath(top), os.path.abspath(base))).as_posix()
    if rel.split("/")[0] == ".." and not allow_outside:
        raise UsageError(
            f"{top} is outside {base}, the manifest's folder (photo paths may not leave it): "
            f"write the manifest in or above {top} (-m {top / 'facesync.yaml'})"
        )
    return "" if rel == "." else rel


def _scan(top: Path, rel_top: str) -> _Layout:
    """The person folders under `top` with their photos, sorted by name; names
    starting with `.` are skipped, as personsFrom skips them."""
    shown = f"{rel_top}/" if rel_top else "./"
    found: list[tuple[str, list[str]]] = []
    skipped: list[str] = []
    for entry in _entries(top):
        rel = f"{rel_top}/{entry.name}" if rel_top else entry.name
        if entry.is_dir():
            photos = [f"{rel}/{e.name}" for e in _entries(Path(entry.path))
                      if e.is_file() and is_image_name(e.name)]
            if photos:
                found.append((entry.name, photos))
            else:
                skipped.append(f"left out the folder {rel}/: it holds no .jpg, .jpeg, .png, "
                               ".gif or .bmp photo")
        elif entry.is_file() and is_image_name(entry.name):
            skipped.append(f"left out {rel}: a photo directly in {shown} belongs to no person; "
                           "move it into its person's folder and add it to the manifest")
    if not found:
        raise UsageError(f"{shown} holds no person folder with photos: " + _no_persons_hint(
            top, rel_top, shown))
    keys = person_keys([name for name, _ in found])
    persons = [
        Person(keys[name], display_name(name) or keys[name],
               [Photo(p, None if i < FACES_PER_PERSON_MAX else _TOO_MANY)
                for i, p in enumerate(photos)])
        for name, photos in found
    ]
    persons.sort(key=lambda p: p.key)
    return _Layout(persons, skipped)


def _no_persons_hint(top: Path, rel_top: str, shown: str) -> str:
    """What to do: name the subfolder that holds the person folders, when one does."""
    for entry in _entries(top):
        if entry.is_dir() and any(
            e.is_dir() and any(f.is_file() and is_image_name(f.name) for f in _entries(Path(e)))
            for e in _entries(Path(entry.path))
        ):
            rel = f"{rel_top}/{entry.name}" if rel_top else entry.name
            return f"its folder {rel}/ holds folders of photos: run facesync init {rel}"
    return (f"put each person's photos in a folder of their own ({shown}<person>/01.jpg) "
            "and run facesync init again")


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            entries = [e for e in listing if not e.name.startswith(".")]
    except OSError as exc:
        raise UsageError(
            f"cannot read the folder {folder} ({exc.strerror or exc}): check its permissions"
        ) from None
    return sorted(entries, key=lambda e: e.name)


def _checked_text(target: Path, group_id: str, group_name: str, persons: list[Person],
                  rel_top: str, options: GlobalOptions) -> str:
    """The manifest's text once the loader and the face checks accept it: each photo
    they refuse is left out (a comment with the reason), and the text checked again."""
    while True:
        text, photo_at = render(group_id, group_name, persons, rel_top=rel_top,
                                lock_name=lock_path_for(target).name)
        if not any(photo.usable for person in persons for photo in person.photos):
            first = next(p.left_out for person in persons for p in person.photos if p.left_out)
            raise UsageError(f"no photo under {rel_top or '.'}/ can be used: {first}")
        problems = _problems(target, text, options, persons)
        if not problems:
            return text
        for line, message in problems:
            photo = photo_at.get(line)
            if photo is None or not photo.usable:
                raise FacesyncError(f"{target}:{line}: {message}")
            photo.left_out = _without_path(message, photo.path)


def _problems(target: Path, text: str, options: GlobalOptions,
              persons: list[Person]) -> list[tuple[int, str]]:
    """(line, message) of every problem of `text` as a manifest at `target`'s place
    (written beside it under another name, so that its paths resolve the same)."""
    handle, temp = tempfile.mkstemp(prefix=".facesync-init-", suffix=".yaml", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            manifest = replace(load_manifest(Path(temp), allow_outside=options.allow_outside),
                               path=target)
            _check_faces(manifest)
        except ManifestError as exc:
            return [(d.line, d.message) for d in exc.diagnostics]
    finally:
        os.unlink(temp)
    _check_read_back(manifest, persons)
    return []


def _check_read_back(manifest: Manifest, persons: list[Person]) -> None:
    """The loader reads the persons, names and photos that were written (a quoting
    mistake would otherwise pass as a valid manifest of something else)."""
    [group] = manifest.groups
    read = {p.key: (p.name, sorted(f.path for f in p.faces)) for p in group.persons}
    written = {p.key: (p.name, sorted(ph.path for ph in p.photos if ph.usable))
               for p in persons if p.usable}
    if read != written:
        raise FacesyncError(
            f"facesync init could not write {manifest.path} faithfully (it reads back "
            "other persons, names or photos): please report this with the folder's names"
        )


def _check_faces(manifest: Manifest) -> None:
    """The local face checks validate runs (without the local extra: one note, said
    once however often the text is checked)."""
    from facesync.commands.face_checks import check_faces

    check_faces(manifest, say=_say_once)


_SAID: set[str] = set()


def _say_once(text: str) -> None:
    if text not in _SAID:
        _SAID.add(text)
        say(text)


def _without_path(message: str, path: str) -> str:
    """A diagnostic's message without the leading `path: ` the comment already shows."""
    return message[len(path) + 2:] if message.startswith(f"{path}: ") else message


def _write_new(target: Path, text: str) -> None:
    """Create `target` with `text`, never replacing a file that appeared meanwhile."""
    try:
        with target.open("x", encoding="utf-8", newline="\n") as out:
            out.write(text)
    except FileExistsError:
        raise UsageError(
            f"{target} already exists: facesync init never overwrites a manifest"
        ) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _left_out(persons: list[Person], target: Path) -> list[str]:
    return [
        f"left out {photo.path}: {photo.left_out} (its line in {target} is a comment; "
        "uncomment it once fixed)"
        for person in persons for photo in person.photos if photo.left_out
    ]


def _print_next(target: Path, options: GlobalOptions, group_id: str, persons: list[Person],
                rel_top: str) -> None:
    usable = [p for p in persons if p.usable]
    photos = sum(1 for p in usable for photo in p.photos if photo.usable)
    m = f" -m {target}" if options.manifest is not None else ""
    click.echo(
        f"Wrote {target}: group '{group_id}' with {len(usable)} person(s) and {photos} "
        f"photo(s) from {rel_top or '.'}/.\n"
        "Review it (names, userData, targetFace: its comments say how), then:\n"
        f"  facesync plan{m}     shows what apply would create\n"
        f"  facesync apply{m}    creates it and writes the lock file; commit both files"
    )
