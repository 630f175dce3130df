"""Plan changes built by hand, with the payloads the diff writes."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from facesync.digest import image_key
from facesync.markers import face_user_data, person_user_data
from facesync.plan.model import Action, Address, Change, Plan
from facesync.plan.payloads import (
    FaceRef,
    FaceSpec,
    FaceUpdate,
    GroupRef,
    GroupSpec,
    GroupUpdate,
    PersonRef,
    PersonSpec,
    PersonUpdate,
    TargetFace,
    TrainSpec,
)

KIND = "personGroup"


def image(folder: Path, name: str, seed: int = 0) -> Path:
    """A distinct 2 KB file (the fake checks sizes, not pixels)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hashlib.sha256(f"{name}:{seed}".encode()).digest() * 64)
    return path


def sha(path: Path) -> str:
    return image_key(hashlib.sha256(path.read_bytes()).hexdigest())


def plan(*changes: Change) -> Plan:
    return Plan(changes=tuple(changes))


def group_create(
    gid: str = "staff",
    *,
    kind: str = KIND,
    action: Action = Action.CREATE,
    old_kind: str | None = None,
) -> Change:
    spec = GroupSpec(gid, kind, gid.title(), None, "recognition_04", old_kind=old_kind)
    return Change(Address(gid), action, payload=spec)


def group_update(gid: str = "staff", name: str | None = "New name") -> Change:
    return Change(Address(gid), Action.UPDATE, payload=GroupUpdate(gid, KIND, name, None))


def group_delete(gid: str = "staff") -> Change:
    return Change(Address(gid), Action.DELETE, payload=GroupRef(gid, KIND))


def train(gid: str = "staff") -> Change:
    return Change(Address(gid), Action.TRAIN, payload=TrainSpec(gid, KIND))


def person_create(gid: str, key: str) -> Change:
    spec = PersonSpec(gid, KIND, key, key.title(), person_user_data(key, None))
    return Change(Address(gid, key), Action.CREATE, payload=spec)


def person_update(gid: str, key: str, person_id: str, name: str = "Renamed") -> Change:
    update = PersonUpdate(gid, KIND, key, person_id, name, None)
    return Change(Address(gid, key), Action.UPDATE, payload=update)


def person_delete(gid: str, key: str, person_id: str) -> Change:
    return Change(Address(gid, key), Action.DELETE, payload=PersonRef(gid, KIND, key, person_id))


def face_create(
    gid: str,
    key: str,
    path: Path,
    *,
    person_id: str | None = None,
    old_persisted_face_id: str | None = None,
    old_sha256: str | None = None,
    target_face: TargetFace | None = None,
) -> Change:
    digest = sha(path)
    spec = FaceSpec(
        group_id=gid,
        kind=KIND,
        person_key=key,
        person_id=person_id,
        sha256=digest,
        path=path.name,
        abs_path=str(path),
        target_face=target_face,
        user_data=face_user_data(digest, None),
        detection_model="detection_03",
    )
    action = Action.CREATE
    if old_persisted_face_id:
        spec = replace(spec, old_persisted_face_id=old_persisted_face_id, old_sha256=old_sha256)
        action = Action.REPLACE
    return Change(Address(gid, key, path.name), action, payload=spec)


def face_delete(
    gid: str, key: str, person_id: str, face_id: str, name: str = "old.jpg", digest: str = "0" * 64
) -> Change:
    ref = FaceRef(gid, KIND, key, person_id, digest, face_id, name)
    return Change(Address(gid, key, name), Action.DELETE, payload=ref)


def face_update(
    gid: str,
    key: str,
    person_id: str,
    face_id: str,
    digest: str,
    name: str = "a.jpg",
    user_data: str = "note",
) -> Change:
    update = FaceUpdate(gid, KIND, key, person_id, digest, face_id, name, user_data)
    return Change(Address(gid, key, name), Action.UPDATE, payload=update)


def enrolment(folder: Path, gid: str = "staff", persons: int = 3, faces: int = 2) -> Plan:
    """A fresh group with `persons` persons of `faces` photos each, then train."""
    changes = [group_create(gid)]
    for p in range(persons):
        key = f"p{p:02d}"
        changes.append(person_create(gid, key))
        for f in range(faces):
            changes.append(face_create(gid, key, image(folder, f"{key}-{f}.jpg")))
    changes.append(train(gid))
    return plan(*changes)
