"""How the recorded state changes as apply goes: pure functions, no I/O.

`record` folds the result of one successful server mutation into the state
(the caller writes it at once, so an interrupted apply loses no id);
`begin` records the plan's adoptions (objects facesync created but never
recorded) before any change runs, since later changes build on them;
`finish` applies the plan's other lock-only updates (renamed images, objects
gone from both the manifest and the server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from facesync.digest import text_digest
from facesync.errors import PlanError
from facesync.plan.model import Action, Change, LockUpdate, Plan, ResourceType
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

# A training that has started includes every change made before it; only a
# failed one leaves them untrained.
_TRAINING_STARTED = ("succeeded", "running", "notstarted")


def record(state: LockState, change: Change, result: dict[str, Any]) -> LockState:
    """The state after `change` succeeded on the server with `result`.

    Results: {"person_id"} for a person create, {"persisted_face_id"} for a face
    create or replace (a replace without it records only the deletion of the
    old face), {"status"} for a train; everything else takes {}.
    """
    kind = change.address.type
    if change.action is Action.TRAIN:
        return _set_training(state, change.data["group_id"], result["status"])
    if kind is ResourceType.GROUP:
        return _record_group(state, change)
    if kind is ResourceType.PERSON:
        return _record_person(state, change, result)
    return _record_face(state, change, result)


def _record_group(state: LockState, change: Change) -> LockState:
    d = change.data
    group_id = d["group_id"]
    if change.action is Action.DELETE:
        return _without_group(state, group_id)
    if change.action is Action.UPDATE:
        group = _group(state, group_id, change)
        updates: dict[str, Any] = {}
        if d.get("name") is not None:
            updates["name_digest"] = text_digest(d["name"])
        if d.get("user_data") is not None:
            updates["user_data_digest"] = text_digest(d["user_data"])
        return _put_group(state, replace(group, **updates))
    # create or replace: a new, empty, never trained group (old ids are gone)
    return _put_group(
        state,
        LockedGroup(
            group_id=group_id,
            kind=d["kind"],
            recognition_model=d["recognition_model"],
            name_digest=text_digest(d["name"]) or "",
            user_data_digest=text_digest(d.get("user_data")),
            training_status=None,
            needs_training=True,
        ),
    )


def _record_person(state: LockState, change: Change, result: dict[str, Any]) -> LockState:
    d = change.data
    group = _group(state, d["group_id"], change)
    key = d["person_key"]
    if d.get("unrecorded"):  # a duplicate or orphan the lock never knew: only training
        return _put_group(state, replace(group, needs_training=True))
    if change.action is Action.DELETE:
        persons = tuple(p for p in group.persons if p.key != key)
        return _put_group(state, replace(group, persons=persons, needs_training=True))
    if change.action is Action.UPDATE:
        person = _person(group, key, change)
        updates: dict[str, Any] = {}
        if d.get("name") is not None:
            updates["name_digest"] = text_digest(d["name"])
        if d.get("user_data") is not None:
            updates["user_data_digest"] = text_digest(d["user_data"])
        return _put_person(state, group, replace(person, **updates), train=False)
    # create (also of a person deleted on the server): its old faces are gone
    person = LockedPerson(
        key=key,
        person_id=result["person_id"],
        name_digest=text_digest(d["name"]) or "",
        user_data_digest=text_digest(d.get("user_data")),
    )
    return _put_person(state, group, person, train=True)


def _record_face(state: LockState, change: Change, result: dict[str, Any]) -> LockState:
    d = change.data
    group = _group(state, d["group_id"], change)
    if d.get("unrecorded"):  # a duplicate or orphan the lock never knew: only training
        return _put_group(state, replace(group, needs_training=True))
    person = _person(group, d["person_key"], change)
    sha = d["sha256"]
    if change.action is Action.UPDATE:
        face = person.face(sha)
        if face is None:
            raise PlanError(f"{change.address}: the lock does not record this face; plan again")
        digest = text_digest(d["user_data"])
        face = replace(face, user_data_digest=digest, path=d.get("path", face.path))
        return _put_person(state, group, _with_face(person, face), train=False)
    # delete, create, replace: drop the old face(s) first
    gone = {sha, d.get("old_sha256")}
    kept = tuple(f for f in person.faces if f.sha256 not in gone)
    person = replace(person, faces=kept)
    new_id = result.get("persisted_face_id")
    if change.action is not Action.DELETE and new_id:
        target = d.get("target_face")
        face = LockedFace(
            sha256=sha,
            path=d["path"],
            persisted_face_id=new_id,
            target_face=tuple(target) if target is not None else None,  # type: ignore[arg-type]
            detection_model=d["detection_model"],
            user_data_digest=text_digest(d.get("user_data")),
        )
        person = _with_face(person, face)
    return _put_person(state, group, person, train=True)


def _set_training(state: LockState, group_id: str, status: str) -> LockState:
    group = state.group(group_id)
    if group is None:  # deleted meanwhile: nothing to record
        return state
    status = status.lower()
    return _put_group(
        state,
        replace(group, training_status=status, needs_training=status not in _TRAINING_STARTED),
    )


# --- finish: lock-only updates ---------------------------------------------------


def begin(state: LockState, plan: Plan) -> LockState:
    """Record the plan's adoptions: groups, then persons, then faces."""
    adoptions = sorted(plan.adoptions, key=lambda u: u.address.sort_key)
    for update in adoptions:
        state = _adopt(state, update)
    return state


def finish(state: LockState, plan: Plan) -> LockState:
    """Apply the plan's lock-only updates; objects no longer recorded are skipped.
    Adoptions that `begin` recorded are not recorded again."""
    state = begin(state, plan)
    for update in plan.lock_updates:
        if update.action != "adopt":
            state = _apply_lock_update(state, update)
    return state


def _adopt(state: LockState, update: LockUpdate) -> LockState:
    """Record an adopted object unless the lock already has it (idempotent)."""
    d = update.data
    group = state.group(d["group_id"])
    if d.get("person_key") is None:
        if group is not None:
            return state
        return _put_group(state, LockedGroup(
            group_id=d["group_id"], kind=d["kind"], recognition_model=d["recognition_model"],
            name_digest=d["name_digest"], user_data_digest=d.get("user_data_digest"),
            training_status=d.get("training_status"), needs_training=True,
        ))
    if group is None:
        return state
    person = group.person(d["person_key"])
    if d.get("sha256") is None:
        if person is not None and person.person_id == d["person_id"]:
            return state
        adopted = LockedPerson(
            key=d["person_key"], person_id=d["person_id"], name_digest=d["name_digest"],
            user_data_digest=d.get("user_data_digest"),
        )
        return _put_person(state, group, adopted, train=True)
    if person is None:
        return state
    face = person.face(d["sha256"])
    if face is not None and face.persisted_face_id == d["persisted_face_id"]:
        return state
    target = d.get("target_face")
    adopted_face = LockedFace(
        sha256=d["sha256"], path=d["path"], persisted_face_id=d["persisted_face_id"],
        target_face=tuple(target) if target is not None else None,  # type: ignore[arg-type]
        detection_model=d["detection_model"], user_data_digest=d.get("user_data_digest"),
    )
    return _put_person(state, group, _with_face(person, adopted_face), train=True)


def _apply_lock_update(state: LockState, update: LockUpdate) -> LockState:
    d = update.data
    group = state.group(d["group_id"])
    if group is None:
        return state
    person_key = d.get("person_key")
    if person_key is None:  # a group
        return _without_group(state, group.group_id) if update.action == "forget" else state
    person = group.person(person_key)
    if person is None:
        return state
    sha = d.get("sha256")
    if sha is None:  # a person
        if update.action != "forget":
            return state
        return _put_group(
            state, replace(group, persons=tuple(p for p in group.persons if p.key != person_key))
        )
    face = person.face(sha)
    if face is None:
        return state
    if update.action == "move":
        return _put_person(state, group, _with_face(person, replace(face, path=d["path"])),
                           train=False)
    faces = tuple(f for f in person.faces if f.sha256 != sha)
    return _put_person(state, group, replace(person, faces=faces), train=False)


# --- small immutable helpers ----------------------------------------------------


def _group(state: LockState, group_id: str, change: Change) -> LockedGroup:
    group = state.group(group_id)
    if group is None:
        raise PlanError(f"{change.address}: group '{group_id}' is not in the lock; plan again")
    return group


def _person(group: LockedGroup, key: str, change: Change) -> LockedPerson:
    person = group.person(key)
    if person is None:
        raise PlanError(f"{change.address}: person '{key}' is not in the lock; plan again")
    return person


def _sorted(items: tuple[Any, ...], key: Callable[[Any], str]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=key))


def _put_group(state: LockState, group: LockedGroup) -> LockState:
    others = tuple(g for g in state.groups if g.group_id != group.group_id)
    return replace(state, groups=_sorted(others + (group,), lambda g: g.group_id))


def _without_group(state: LockState, group_id: str) -> LockState:
    return replace(state, groups=tuple(g for g in state.groups if g.group_id != group_id))


def _put_person(
    state: LockState, group: LockedGroup, person: LockedPerson, *, train: bool
) -> LockState:
    others = tuple(p for p in group.persons if p.key != person.key)
    group = replace(
        group,
        persons=_sorted(others + (person,), lambda p: p.key),
        needs_training=group.needs_training or train,
    )
    return _put_group(state, group)


def _with_face(person: LockedPerson, face: LockedFace) -> LockedPerson:
    others = tuple(f for f in person.faces if f.sha256 != face.sha256)
    return replace(person, faces=_sorted(others + (face,), lambda f: f.sha256))
