"""Recorded state (the lock file) and observed state (what refresh saw).

Values only, no I/O. `facesync.state.lock_file` reads and writes the recorded
state; `facesync.engine.refresh` builds the observed one from list calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

LOCK_VERSION = 2


# --- recorded (lock file) -------------------------------------------------


@dataclass(frozen=True)
class LockedFace:
    sha256: str
    path: str
    persisted_face_id: str
    target_face: tuple[int, int, int, int] | None = None
    detection_model: str = "detection_03"
    user_data_digest: str | None = None  # digest of the userData facesync sent


@dataclass(frozen=True)
class LockedPerson:
    key: str
    person_id: str
    name_digest: str
    user_data_digest: str | None = None
    faces: tuple[LockedFace, ...] = ()  # sorted by sha256

    def face(self, sha256: str) -> LockedFace | None:
        return next((f for f in self.faces if f.sha256 == sha256), None)

    def with_face(self, face: LockedFace) -> LockedPerson:
        """This person with `face` recorded in place of any face of the same image,
        faces kept sorted by sha256 (as the lock file stores them)."""
        others = tuple(f for f in self.faces if f.sha256 != face.sha256)
        return replace(self, faces=tuple(sorted(others + (face,), key=lambda f: f.sha256)))


@dataclass(frozen=True)
class LockedGroup:
    group_id: str
    kind: str
    recognition_model: str
    name_digest: str
    user_data_digest: str | None = None
    # Training as facesync last saw it: status ("succeeded", "failed", ... or
    # None when never trained) and whether a change since then still needs one.
    training_status: str | None = None
    needs_training: bool = False
    persons: tuple[LockedPerson, ...] = ()  # sorted by key

    def person(self, key: str) -> LockedPerson | None:
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, LockedPerson]:
        """Built on first use, so that a lookup costs the same at any gallery size."""
        return {p.key: p for p in self.persons}


@dataclass(frozen=True)
class LockState:
    endpoint: str  # "embedded" or "scheme://host:port"; never the key
    serial: int = 0
    groups: tuple[LockedGroup, ...] = ()  # sorted by group_id
    version: int = LOCK_VERSION

    def group(self, group_id: str) -> LockedGroup | None:
        return next((g for g in self.groups if g.group_id == group_id), None)


# --- observed (refresh) -----------------------------------------------------


@dataclass(frozen=True)
class ObservedPerson:
    person_id: str
    name: str
    user_data: str | None
    persisted_face_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservedGroup:
    group_id: str
    kind: str
    name: str
    user_data: str | None
    recognition_model: str
    # None when never trained (404 ...NotTrained), else the service's status
    # lower-cased ("running", "succeeded", "failed", "notstarted").
    training_status: str | None = None
    persons: tuple[ObservedPerson, ...] = ()  # sorted by person_id

    def person(self, person_id: str) -> ObservedPerson | None:
        return self._by_id.get(person_id)

    @cached_property
    def _by_id(self) -> dict[str, ObservedPerson]:
        return {p.person_id: p for p in self.persons}


@dataclass(frozen=True)
class ObservedState:
    """What the server holds: managed groups in full, other groups by id only."""

    groups: tuple[ObservedGroup, ...] = ()  # groups facesync refreshed in full
    other_group_ids: tuple[tuple[str, str], ...] = field(default=())  # (kind, id) not in lock
    # (persistedFaceId, userData) of the faces refresh read one by one: faces the
    # lock does not know on managed persons, and the faces of persons facesync
    # may adopt. Sorted by id; normally empty (a listing does not give face userData).
    faces_read: tuple[tuple[str, str | None], ...] = field(default=())

    def group(self, group_id: str) -> ObservedGroup | None:
        return next((g for g in self.groups if g.group_id == group_id), None)

    def face_user_data(self) -> dict[str, str | None]:
        """persistedFaceId -> userData of the faces refresh read."""
        return dict(self.faces_read)
