"""Plan changes built by hand, with the `data` keys the diff writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from facesync.markers import face_user_data, person_user_data
from facesync.plan.model import Action, Address, Change, Plan

KIND = "personGroup"


def image(folder: Path, name: str, seed: int = 0) -> Path:
    """A distinct 2 KB file (the fake checks sizes, not pixels)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hashlib.sha256(f"{name}:{seed}".encode()).digest() * 64)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan(*changes: Change) -> Plan:
    return Plan(changes=tuple(changes))


def group_create(
    gid: str = "staff",
    *,
    kind: str = KIND,
    action: Action = Action.CREATE,
    old_kind: str | None = None,
) -> Change:
    data = {
        "group_id": gid,
        "kind": kind,
        "name": gid.title(),
        "user_data": None,
        "recognition_model": "recognition_04",
    }
    if old_kind:
        data["old_kind"] = old_kind
    return Change(Address(gid), action, data=data)


def group_update(gid: str = "staff", name: str | None = "New name") -> Change:
    data = {"group_id": gid, "kind": KIND, "name": name, "user_data": None}
    return Change(Address(gid), Action.UPDATE, data=data)


def group_delete(gid: str = "staff") -> Change:
    return Change(Address(gid), Action.DELETE, data={"group_id": gid, "kind": KIND})


def train(gid: str = "staff") -> Change:
    return Change(Address(gid), Action.TRAIN, data={"group_id": gid, "kind": KIND})


def person_create(gid: str, key: str) -> Change:
    data = {
        "group_id": gid,
        "kind": KIND,
        "person_key": key,
        "name": key.title(),
        "user_data": person_user_data(key, None),
    }
    return Change(Address(gid, key), Action.CREATE, data=data)


def person_update(gid: str, key: str, person_id: str, name: str = "Renamed") -> Change:
    data = {
        "group_id": gid,
        "kind": KIND,
        "person_key": key,
        "person_id": person_id,
        "name": name,
        "user_data": None,
    }
    return Change(Address(gid, key), Action.UPDATE, data=data)


def person_delete(gid: str, key: str, person_id: str) -> Change:
    data = {"group_id": gid, "kind": KIND, "person_key": key, "person_id": person_id}
    return Change(Address(gid, key), Action.DELETE, data=data)


def face_create(
    gid: str,
    key: str,
    path: Path,
    *,
    person_id: str | None = None,
    old_persisted_face_id: str | None = None,
    old_sha256: str | None = None,
    target_face: list[int] | None = None,
) -> Change:
    digest = sha(path)
    data = {
        "group_id": gid,
        "kind": KIND,
        "person_key": key,
        "person_id": person_id,
        "sha256": digest,
        "path": path.name,
        "abs_path": str(path),
        "target_face": target_face,
        "user_data": face_user_data(digest, None),
        "detection_model": "detection_03",
    }
    action = Action.CREATE
    if old_persisted_face_id:
        data.update(old_persisted_face_id=old_persisted_face_id, old_sha256=old_sha256)
        action = Action.REPLACE
    return Change(Address(gid, key, path.name), action, data=data)


def face_delete(
    gid: str, key: str, person_id: str, face_id: str, name: str = "old.jpg", digest: str = "0" * 64
) -> Change:
    data = {
        "group_id": gid,
        "kind": KIND,
        "person_key": key,
        "person_id": person_id,
        "sha256": digest,
        "persisted_face_id": face_id,
        "path": name,
    }
    return Change(Address(gid, key, name), Action.DELETE, data=data)


def face_update(
    gid: str,
    key: str,
    person_id: str,
    face_id: str,
    digest: str,
    name: str = "a.jpg",
    user_data: str = "note",
) -> Change:
    data = {
        "group_id": gid,
        "kind": KIND,
        "person_key": key,
        "person_id": person_id,
        "sha256": digest,
        "persisted_face_id": face_id,
        "user_data": user_data,
    }
    return Change(Address(gid, key, name), Action.UPDATE, data=data)


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
