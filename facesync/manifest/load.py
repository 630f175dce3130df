"""Manifest file -> Manifest model, with every problem reported at once.

YAML (safe, duplicate keys refused, aliases bounded) -> the JSON Schema ->
globs, paths and images -> the sorted desired state. Each problem becomes a
`file:line: path: message` diagnostic; any problem raises ManifestError.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from facesync.errors import Diagnostic, FacesyncError, ManifestError
from facesync.manifest.model import (
    DEFAULT_DETECTION_MODEL,
    DEFAULT_RECOGNITION_MODEL,
    PERSON_GROUP,
    DesiredGroup,
    DesiredPerson,
    Manifest,
)
from facesync.schemas_dir import json_path

from .faces import FaceChecker, FaceEntry, Located
from .hash_cache import HashCache
from .paths import ImagePaths
from .schema_check import schema_problems
from .yaml_source import DocPath, YamlDocument, read_yaml


def load_manifest(path: Path, *, allow_outside: bool = False, use_cache: bool = True) -> Manifest:
    """Read, validate and resolve the manifest at `path`.

    Raises ManifestError listing every problem, or FacesyncError when the file
    cannot be read at all.
    """
    path = Path(path)
    raw = _read_manifest(path)
    doc = read_yaml(raw)
    problems = [Located(p.path, p.line, p.message) for p in doc.problems]
    if doc.fatal:
        raise ManifestError(_diagnostics(path, problems))
    problems += [
        Located(p.path, doc.line_of(p.line_path), p.message) for p in schema_problems(doc.data)
    ]
    cache = HashCache(path.parent, enabled=use_cache)
    checker = FaceChecker(ImagePaths(path.parent, allow_outside=allow_outside), cache)
    builder = _ModelBuilder(doc, checker, _bad_face_entries(problems))
    groups = builder.groups()
    problems += builder.problems
    cache.save()
    if problems:
        raise ManifestError(_diagnostics(path, problems))
    return Manifest(path=path, digest=_digest(raw, groups), groups=tuple(groups))


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
    return [Diagnostic(str(path), p.line, json_path(p.path), p.message) for p in problems]


def _bad_face_entries(problems: list[Located]) -> set[DocPath]:
    """Face entries the schema or the YAML reader refused; their images are not checked."""
    bad = set()
    for problem in problems:
        where = problem.path
        if len(where) >= 6 and where[4] == "faces" and isinstance(where[5], int):
            bad.add(where[:6])
    return bad


def _digest(raw: bytes, groups: list[DesiredGroup]) -> str:
    """The manifest's bytes plus every image hash: a saved plan notices changed photos."""
    digest = hashlib.sha256(raw)
    for group in groups:
        for person in group.persons:
            for face in person.faces:
                digest.update(f"\n{group.group_id}/{person.key}/{face.sha256}".encode())
    return digest.hexdigest()


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str | None = None) -> str | None:
    return value if isinstance(value, str) else default


class _ModelBuilder:
    """Builds the model from data the schema checked; tolerates what it refused
    (its problems are already reported) so the images are checked too."""

    def __init__(self, doc: YamlDocument, checker: FaceChecker, bad_faces: set[DocPath]) -> None:
        self.doc = doc
        self.checker = checker
        self.bad_faces = bad_faces
        self.problems: list[Located] = []

    def groups(self) -> list[DesiredGroup]:
        groups = _mapping(_mapping(self.doc.data).get("groups"))
        return [
            self._group(group_id, body)
            for group_id, body in sorted(groups.items())
            if isinstance(body, dict)
        ]

    def _group(self, group_id: str, body: dict[str, Any]) -> DesiredGroup:
        where = ("groups", group_id)
        persons = [
            self._person((*where, "persons", key), key, person)
            for key, person in sorted(_mapping(body.get("persons")).items())
            if isinstance(person, dict)
        ]
        return DesiredGroup(
            group_id=group_id,
            name=_text(body.get("name"), group_id),
            kind=_text(body.get("kind"), PERSON_GROUP),
            recognition_model=_text(body.get("recognitionModel"), DEFAULT_RECOGNITION_MODEL),
            user_data=_text(body.get("userData")),
            persons=tuple(persons),
            line=self.doc.line_of(where),
        )

    def _person(self, where: DocPath, key: str, body: dict[str, Any]) -> DesiredPerson:
        listed = body.get("faces")
        listed = listed if isinstance(listed, list) else []
        faces_path = (*where, "faces")
        entries = [
            entry
            for index, item in enumerate(listed)
            if (*faces_path, index) not in self.bad_faces
            and (entry := self._entry((*faces_path, index), item)) is not None
        ]
        faces, problems = self.checker.person_faces(
            entries, faces_path, self.doc.line_of(faces_path), len(listed)
        )
        self.problems += problems
        return DesiredPerson(
            key=key,
            name=_text(body.get("name"), key),
            user_data=_text(body.get("userData")),
            faces=tuple(faces),
            line=self.doc.line_of(where),
        )

    def _entry(self, where: DocPath, item: Any) -> FaceEntry | None:
        line = self.doc.line_of(where)
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
