"""Manifest file -> Manifest model, with every problem reported at once.

YAML (safe, duplicate keys refused, aliases bounded) -> the JSON Schema ->
globs, paths and images -> the sorted desired state. Each problem becomes a
`file:line: path: message` diagnostic; any problem raises ManifestError.
"""

from __future__ import annotations

import hashlib
import posixpath
from itertools import accumulate, chain
from operator import attrgetter
from pathlib import Path
from typing import Any

from facesync.bulk import building
from facesync.errors import Diagnostic, FacesyncError, ManifestError
from facesync.manifest.model import (
    DEFAULT_DETECTION_MODEL,
    DEFAULT_RECOGNITION_MODEL,
    PERSON_GROUP,
    DesiredFace,
    DesiredGroup,
    DesiredPerson,
    Manifest,
)
from facesync.schemas_dir import json_path

from .details import DetailsFile, PersonDetails, parse_details
from .faces import FaceChecker, FaceEntry, Located
from .fast_yaml import read_simple_yaml
from .folders import PersonFolder, images_of, listed_images, scan_person_folders
from .hash_cache import HashCache
from .paths import ImagePaths, PathProblem
from .schema_check import schema_problems
from .yaml_source import DocPath, YamlDocument, read_yaml


def load_manifest(path: Path, *, allow_outside: bool = False, use_cache: bool = True) -> Manifest:
    """Read, validate and resolve the manifest at `path`.

    Raises ManifestError listing every problem, or FacesyncError when the file
    cannot be read at all.
    """
    path = Path(path)
    raw = _read_manifest(path)
    with building():  # millions of objects, no cycles (facesync.bulk)
        return _load(path, raw, allow_outside=allow_outside, use_cache=use_cache)


def _load(path: Path, raw: bytes, *, allow_outside: bool, use_cache: bool) -> Manifest:
    doc = read_simple_yaml(raw) or read_yaml(raw)
    problems = [Located(p.path, p.line, p.message) for p in doc.problems]
    if doc.fatal:
        raise ManifestError(_diagnostics(path, problems))
    problems += [
        Located(p.path, doc.line_of(p.line_path), p.message) for p in schema_problems(doc.data, raw)
    ]
    cache = HashCache(path.parent, enabled=use_cache)
    checker = FaceChecker(ImagePaths(path.parent, allow_outside=allow_outside), cache)
    builder = _ModelBuilder(doc, checker, _bad_face_entries(problems), path)
    groups = builder.groups()
    problems += builder.problems
    cache.save()
    if problems:
        raise ManifestError(_diagnostics(path, problems))
    digest = _digest(raw, builder.details_bytes, groups)
    return Manifest(path=path, digest=digest, groups=tuple(groups))


def _read_manifest(path: Path) -> bytes:
    if path.is_dir():
        raise FacesyncError(
            f"{path} is a folder, not a manifest: pass the manifest's YAML file with -m/--manifest"
        )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FacesyncError(
            f"manifest {path} not found: create it or pass its path with -m/--manifest"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"cannot read manifest {path} ({reason}): check its permissions"
        raise FacesyncError(message) from None


def _diagnostics(path: Path, problems: list[Located]) -> list[Diagnostic]:
    return [
        Diagnostic(p.file or str(path), p.line, json_path(p.path), p.message) for p in problems
    ]


def _bad_face_entries(problems: list[Located]) -> set[DocPath]:
    """Face entries the schema or the YAML reader refused; their images are not checked."""
    bad = set()
    for problem in problems:
        where = problem.path
        if len(where) >= 6 and where[4] == "faces" and isinstance(where[5], int):
            bad.add(where[:6])
    return bad


def _digest(raw: bytes, details: list[bytes], groups: list[DesiredGroup]) -> str:
    """The manifest's bytes, its details files' and every image hash: a saved
    plan notices changed photos and details."""
    digest = hashlib.sha256(raw)
    for data in details:
        digest.update(b"\ndetails:" + data)
    parts = []
    for group in groups:
        for person in group.persons:
            if person.faces:  # "\n<group>/<person>/<image key>" of each face, one join a person
                prefix = f"\n{group.group_id}/{person.key}/"
                parts.append(prefix + prefix.join(map(_SHA256, person.faces)))
    digest.update("".join(parts).encode())
    return digest.hexdigest()


_SHA256 = attrgetter("sha256")


_NO_DETAILS = PersonDetails(0, None, None)
# Persons whose faces are found at once: large enough for few Python calls per
# photo, small enough to keep a batch's stat results few.
_BATCH = 2048


def _by_key(person: DesiredPerson) -> str:
    return person.key


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str | None = None) -> str | None:
    return value if isinstance(value, str) else default


class _ModelBuilder:
    """Builds the model from data the schema checked; tolerates what it refused
    (its problems are already reported) so the images are checked too."""

    def __init__(
        self, doc: YamlDocument, checker: FaceChecker, bad_faces: set[DocPath], manifest: Path
    ) -> None:
        self.doc = doc
        self.checker = checker
        self.bad_faces = bad_faces
        self.manifest = manifest
        self.problems: list[Located] = []
        self.details_bytes: list[bytes] = []

    def groups(self) -> list[DesiredGroup]:
        groups = _mapping(_mapping(self.doc.data).get("groups"))
        return [
            self._group(group_id, body)
            for group_id, body in sorted(groups.items())
            if isinstance(body, dict)
        ]

    def _group(self, group_id: str, body: dict[str, Any]) -> DesiredGroup:
        where = ("groups", group_id)
        persons = self._inline_persons(where, _mapping(body.get("persons")))
        source = body.get("personsFrom")
        if isinstance(source, dict) and isinstance(source.get("folder"), str):
            persons += self._folder_persons(where, source, {p.key: p.line for p in persons})
        persons.sort(key=_by_key)
        return DesiredGroup(
            group_id=group_id,
            name=_text(body.get("name"), group_id),
            kind=_text(body.get("kind"), PERSON_GROUP),
            recognition_model=_text(body.get("recognitionModel"), DEFAULT_RECOGNITION_MODEL),
            user_data=_text(body.get("userData")),
            persons=tuple(persons),
            line=self.doc.line_of(where),
        )

    def _inline_persons(self, group: DocPath, written: dict[str, Any]) -> list[DesiredPerson]:
        """The persons under `persons`: a batch of them at a time through the checker's
        fast lane, each person it leaves (any problem) one by one through _person."""
        bodies = [(key, body) for key, body in written.items() if isinstance(body, dict)]
        where = (*group, "persons")
        if self.bad_faces:  # a refused face entry: no lane for a manifest with problems
            return [self._person((*where, key), key, body) for key, body in bodies]
        lines = self.doc.below(where)
        persons: list[DesiredPerson] = []
        for start in range(0, len(bodies), _BATCH):
            batch = bodies[start : start + _BATCH]
            lists = [body.get("faces") for _, body in batch]
            listed = [f if type(f) is list else [] for f in lists]
            counts = list(map(len, listed))
            key_lines, item_lines = lines.keys_and_items([k for k, _ in batch], "faces", counts)
            found = self.checker.listed_faces(
                list(chain.from_iterable(listed)), item_lines, list(accumulate(counts))
            )
            for (key, body), faces, faces_list, line in zip(
                batch, found, lists, key_lines, strict=True
            ):
                if faces is None or type(faces_list) is not list:
                    persons.append(self._person((*where, key), key, body))
                    continue
                name, user_data = body.get("name", key), body.get("userData")
                persons.append(DesiredPerson(
                    key, name if type(name) is str else key,
                    user_data if type(user_data) is str else None, tuple(faces), line,
                ))
        return persons

    def _folder_persons(
        self, group: DocPath, source: dict[str, Any], inline: dict[str, int]
    ) -> list[DesiredPerson]:
        """The persons of `personsFrom`: one per subfolder, named by its details row."""
        where = (*group, "personsFrom", "folder")
        line = self.doc.line_of(where)
        try:
            folders, messages = scan_person_folders(self.checker.paths, source["folder"])
        except PathProblem as exc:
            self.problems.append(Located(where, line, exc.message))
            return []
        self.problems += [Located(where, line, m) for m in messages]
        details = self._details(group, source.get("details"))
        persons = []
        for folder in folders:
            if folder.key in inline:
                self.problems.append(Located((*group, "persons", folder.key), inline[folder.key], (
                    f"the person '{folder.key}' is also the folder '{folder.path}' of "
                    "personsFrom: keep the person in one place"
                )))
        folders = [f for f in folders if f.key not in inline]
        for start in range(0, len(folders), _BATCH):
            batch = folders[start : start + _BATCH]
            for folder, faces in zip(batch, self._folder_batch(batch, line), strict=True):
                if faces is None:
                    faces = self._folder_faces(folder, where, line)
                    if faces is None:
                        continue
                row = details.persons.pop(folder.key, _NO_DETAILS)
                persons.append(DesiredPerson(
                    folder.key, row.name or folder.key, row.user_data, tuple(faces), line
                ))
        for key, row in details.persons.items():
            if key not in inline:
                self.problems.append(Located((*group, "persons", key), row.line, (
                    f"no person folder '{key}' in '{source['folder']}' for this row: add the "
                    "folder with the person's photos or remove the row"
                ), details.label))
        return persons

    def _folder_batch(
        self, folders: list[PersonFolder], line: int
    ) -> list[list[DesiredFace] | None]:
        """The faces of many person folders through the checker's fast lane, None for
        each folder it leaves to _folder_faces."""
        listed = listed_images(folders)
        taken = iter(self.checker.known_faces(
            listed.paths, listed.real_paths, listed.stats, [line] * len(listed.paths),
            [end for end in listed.ends if end >= 0],
        ))
        return [next(taken) if end >= 0 else None for end in listed.ends]

    def _folder_faces(
        self, folder: PersonFolder, where: DocPath, line: int
    ) -> list[DesiredFace] | None:
        """The faces of one person folder and its problems; None when it has no images."""
        try:
            files = images_of(self.checker.paths, folder)
        except PathProblem as exc:
            self.problems.append(Located(where, line, exc.message))
            return None
        faces, problems = self.checker.folder_faces(folder.path, files, where, line)
        self.problems += problems
        return faces

    def _details(self, group: DocPath, written: Any) -> DetailsFile:
        if not isinstance(written, str):
            return DetailsFile("", {}, [])
        where = (*group, "personsFrom", "details")
        label = posixpath.normpath(written)
        try:
            raw = self.checker.paths.read_file(written, "details file", "a CSV file with the "
                                               "columns key, name and userData")
        except PathProblem as exc:
            self.problems.append(Located(where, self.doc.line_of(where), exc.message))
            return DetailsFile(label, {}, [])
        self.details_bytes.append(raw)
        shown = str(self.manifest.parent / label)
        details = parse_details(raw, shown, group)
        self.problems += details.problems
        return details

    def _person(self, where: DocPath, key: str, body: dict[str, Any]) -> DesiredPerson:
        listed = body.get("faces")
        listed = listed if isinstance(listed, list) else []
        faces_path = (*where, "faces")
        faces_line, lines = self.doc.list_lines(faces_path, len(listed))
        bad = self.bad_faces
        entries = []
        for index, item in enumerate(listed):
            at = (*faces_path, index)
            if not bad or at not in bad:
                entry = _entry(at, item, lines[index])
                if entry is not None:
                    entries.append(entry)
        faces, problems = self.checker.person_faces(entries, faces_path, faces_line, len(listed))
        self.problems += problems
        return DesiredPerson(
            key=key,
            name=_text(body.get("name"), key),
            user_data=_text(body.get("userData")),
            faces=tuple(faces),
            line=self.doc.line_of(where),
        )


def _entry(where: DocPath, item: Any, line: int) -> FaceEntry | None:
    if isinstance(item, str):
        return FaceEntry(item, where, line)
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return None
    target = item.get("targetFace")
    return FaceEntry(
        written=item["path"],
        path=where,
        line=line,
        target_face=tuple(int(v) for v in target) if target is not None else None,
        user_data=_text(item.get("userData")),
        detection_model=_text(item.get("detectionModel"), DEFAULT_DETECTION_MODEL),
    )
