"""The desired state: what the manifest says should exist.

Values only, no I/O. Built by `facesync.manifest.load`, read by the diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from facesync.image_fit import needs_downscale

PERSON_GROUP = "personGroup"
LARGE_PERSON_GROUP = "largePersonGroup"
# What facesync asks for when the manifest names no model (newer than the
# service's own defaults, limits.SERVICE_DEFAULT_*).
DEFAULT_RECOGNITION_MODEL = "recognition_04"
DEFAULT_DETECTION_MODEL = "detection_03"

TargetFace = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class DesiredFace:
    """One face image of a person; its identity is the SHA-256 of its bytes, in
    the short form of facesync.digest.image_key."""

    path: str  # as written relative to the manifest's folder, POSIX separators
    abs_path: str  # the file, symlinks resolved (text: a gallery makes 500,000 of them)
    sha256: str  # image_key: 128 bits of the SHA-256, base64url
    size: int
    target_face: TargetFace | None = None
    user_data: str | None = None
    detection_model: str = DEFAULT_DETECTION_MODEL
    line: int = 0  # line of the face entry in the manifest (for diagnostics)
    # (width, height) of a photo above the service's limits, from the checks; None
    # for the others, and for a file over 6 MB whose size alone told the checks
    downscaled_from: tuple[int, int] | None = None

    @property
    def sent_downscaled(self) -> bool:
        """Whether add-face sends a downscaled copy of the photo (facesync.image_fit)."""
        return needs_downscale(self.size, *(self.downscaled_from or (0, 0)))


_new = object.__new__


def desired_face(
    path: str,
    abs_path: str,
    sha256: str,
    size: int,
    target_face: TargetFace | None,
    user_data: str | None,
    detection_model: str,
    line: int,
    downscaled_from: tuple[int, int] | None = None,
) -> DesiredFace:
    """DesiredFace(...) without its frozen fields' one __setattr__ call each: the
    same value, built three times faster (a gallery builds 500,000)."""
    face = _new(DesiredFace)
    face.__dict__.update(
        path=path, abs_path=abs_path, sha256=sha256, size=size, target_face=target_face,
        user_data=user_data, detection_model=detection_model, line=line,
    )
    if downscaled_from is not None:  # rare: the others read the class's default
        face.__dict__["downscaled_from"] = downscaled_from
    return face


@dataclass(frozen=True)
class DesiredPerson:
    key: str
    name: str  # defaults to the key
    user_data: str | None = None
    faces: tuple[DesiredFace, ...] = ()  # sorted by sha256, unique sha256
    line: int = 0


@dataclass(frozen=True)
class DesiredGroup:
    group_id: str
    name: str
    kind: str = PERSON_GROUP
    recognition_model: str = DEFAULT_RECOGNITION_MODEL
    user_data: str | None = None
    persons: tuple[DesiredPerson, ...] = ()  # sorted by key
    line: int = 0

    def person(self, key: str) -> DesiredPerson | None:
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, DesiredPerson]:
        """Built on first use: plans look up persons by key, 100,000 at a time."""
        return {p.key: p for p in self.persons}


@dataclass(frozen=True)
class Manifest:
    path: Path  # the manifest file
    digest: str  # SHA-256 of the manifest bytes plus every image hash (for saved plans)
    groups: tuple[DesiredGroup, ...] = field(default=())  # sorted by group_id

    @property
    def folder(self) -> Path:
        return self.path.parent

    def group(self, group_id: str) -> DesiredGroup | None:
        return next((g for g in self.groups if g.group_id == group_id), None)
