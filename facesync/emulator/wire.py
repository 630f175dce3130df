"""Rows -> the Face API's JSON shapes. Unset optional fields are omitted, as the
service's recent answers do (older ones sent null; clients accept both)."""

from __future__ import annotations

from typing import Any

from facesync.emulator.kinds import GroupKind
from facesync.emulator.rows import FaceRow, GroupRow, PersonRow, TrainingRow


def group_json(kind: GroupKind, group: GroupRow, with_model: bool) -> dict[str, Any]:
    found: dict[str, Any] = {kind.id_field: group.group_id, "name": group.name}
    if group.user_data is not None:
        found["userData"] = group.user_data
    if with_model:
        found["recognitionModel"] = group.recognition_model
    return found


def person_json(person: PersonRow, face_ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {"personId": person.person_id, "name": person.name}
    if person.user_data is not None:
        found["userData"] = person.user_data
    found["persistedFaceIds"] = list(face_ids)
    return found


def face_json(face: FaceRow) -> dict[str, Any]:
    found: dict[str, Any] = {"persistedFaceId": face.face_id}
    if face.user_data is not None:
        found["userData"] = face.user_data
    return found


def training_json(kind: GroupKind, training: TrainingRow) -> dict[str, Any]:
    found: dict[str, Any] = {
        "status": training.status,
        "createdDateTime": training.created,
        "lastActionDateTime": training.last_action,
    }
    if training.last_successful is not None:
        found["lastSuccessfulTrainingDateTime"] = training.last_successful
    if training.last_successful_id is not None and not kind.large:
        found["lastSuccessfulTrainingId"] = training.last_successful_id
    if training.status == "failed":
        found["message"] = training.message
    return found
