"""The backend contract: one method per Face API operation facesync uses.

`kind` is "personGroup" or "largePersonGroup" and picks the URL prefix
(/persongroups or /largepersongroups). Every method raises
facesync.errors.ApiError (status, service code, message) when the call fails
for good; a 404 is an ApiError too, so callers that expect absence catch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GroupInfo:
    group_id: str
    name: str
    user_data: str | None
    recognition_model: str | None  # None unless asked for


@dataclass(frozen=True)
class PersonInfo:
    person_id: str
    name: str
    user_data: str | None
    persisted_face_ids: tuple[str, ...]


@dataclass(frozen=True)
class FaceInfo:
    persisted_face_id: str
    user_data: str | None


@dataclass(frozen=True)
class TrainingInfo:
    status: str  # lower-cased: notstarted (any spelling), running, succeeded, failed
    created: str | None = None
    last_action: str | None = None
    last_successful: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class DetectedFace:
    face_id: str | None
    rectangle: tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class Candidate:
    person_id: str
    confidence: float


@dataclass(frozen=True)
class IdentifyResult:
    face_id: str
    candidates: tuple[Candidate, ...]


class FaceBackend(Protocol):
    """What facesync needs from a Face API endpoint."""

    # groups
    def create_group(
        self, kind: str, group_id: str, name: str, user_data: str | None, recognition_model: str
    ) -> None: ...
    def get_group(self, kind: str, group_id: str) -> GroupInfo: ...
    def list_groups(self, kind: str) -> list[GroupInfo]: ...  # every page, sorted by id
    def update_group(
        self, kind: str, group_id: str, name: str | None, user_data: str | None
    ) -> None: ...
    def delete_group(self, kind: str, group_id: str) -> None: ...
    def train_group(self, kind: str, group_id: str) -> None: ...
    def get_training_status(self, kind: str, group_id: str) -> TrainingInfo: ...

    # persons
    def create_person(
        self, kind: str, group_id: str, name: str, user_data: str | None
    ) -> str: ...  # the new personId
    def list_persons(self, kind: str, group_id: str) -> list[PersonInfo]: ...  # every page
    def get_person(self, kind: str, group_id: str, person_id: str) -> PersonInfo: ...
    def update_person(
        self, kind: str, group_id: str, person_id: str, name: str | None, user_data: str | None
    ) -> None: ...
    def delete_person(self, kind: str, group_id: str, person_id: str) -> None: ...

    # faces
    def add_face(
        self,
        kind: str,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        user_data: str | None = None,
        target_face: tuple[int, int, int, int] | None = None,
        detection_model: str | None = None,
    ) -> str: ...  # the new persistedFaceId
    def get_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> FaceInfo: ...
    def update_face(
        self, kind: str, group_id: str, person_id: str, face_id: str, user_data: str
    ) -> None: ...
    def delete_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> None: ...

    # recognition
    def detect(
        self, image: bytes, *, recognition_model: str, detection_model: str
    ) -> list[DetectedFace]: ...
    def identify(
        self,
        face_ids: list[str],
        kind: str,
        group_id: str,
        *,
        max_candidates: int = 1,
        threshold: float | None = None,
    ) -> list[IdentifyResult]: ...
