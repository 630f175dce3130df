"""What the store keeps, one frozen dataclass per table row."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class GroupRow:
    kind: str
    group_id: str
    name: str
    user_data: str | None
    recognition_model: str
    created: str

    def values(self) -> tuple[object, ...]:
        return _values(self)


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    kind: str
    group_id: str
    name: str
    user_data: str | None

    def values(self) -> tuple[object, ...]:
        return _values(self)


@dataclass(frozen=True)
class FaceRow:
    face_id: str
    person_id: str
    kind: str
    group_id: str
    user_data: str | None
    left: int
    top: int
    width: int
    height: int
    detection_model: str
    sha256: str
    embedding: bytes  # 128 float32, little-endian

    def values(self) -> tuple[object, ...]:
        return _values(self)


@dataclass(frozen=True)
class TrainingRow:
    kind: str
    group_id: str
    status: str  # running | succeeded | failed
    created: str  # when this training was queued
    last_action: str
    last_successful: str | None
    last_successful_id: str | None
    message: str | None

    def values(self) -> tuple[object, ...]:
        return _values(self)


@dataclass(frozen=True)
class SnapshotRow:
    """A trained identification index: persons in order and their face counts, as
    the training that built it saw them (the embeddings are in its snapshot file,
    or in SQLite chunks in a store of schema 2)."""

    kind: str
    group_id: str
    training_id: str
    recognition_model: str
    person_ids: str  # newline-separated
    counts: bytes  # int32 per person

    def values(self) -> tuple[object, ...]:
        return _values(self)


def _values(row: Any) -> tuple[object, ...]:
    """The fields in order, shallow (dataclasses.astuple deep-copies: slow in bulk)."""
    return tuple(getattr(row, field.name) for field in fields(row))
