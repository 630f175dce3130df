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
from dataclasses import dataclass, replace
from typing import Any

from facesync.digest import text_digest
from facesync.errors import PlanError
from facesync.plan.model import Action, Change, LockAction, LockUpdate, Plan, ResourceType
from facesync.plan.payloads import (
    AdoptFace,
    AdoptGroup,
    AdoptPerson,
    FaceRef,
    FaceSpec,
    FaceUpdate,
    Forget,
    GroupSpec,
    GroupUpdate,
    Move,
    PersonRef,
    PersonSpec,
    PersonUpdate,
)
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState


@dataclass(frozen=True)
class CallResult:
    """What a successful call answered that the lock file records: the new
    person's id, the new face's id (absent after the first half of a face
    replace, the delete of the old face), or the training status."""

    person_id: str | None = None
    persisted_face_id: str | None = None
    training_status: str | None = None


# A training that has started includes every change made before it; only a
# failed one leaves them untrained.
_TRAINING_STARTED = ("succeeded", "running", "notstarted")


def record(state: LockState, change: Change, result: CallResult) -> LockState:
    """The state after `change` succeeded on the server with `result`."""
    kind = change.address.type
    if change.action is Action.TRAIN:
        if result.training_status is None:
            raise ValueError(f"{change.address}: a training's result carries its status")
        return _set_training(state, change.payload.group_id, result.training_status)
    if kind is ResourceType.GROUP:
        return _record_group(state, change)
    if kind is ResourceType.PERSON:
        return _record_person(state, change, result)
    return _record_face(state, change, result)


def _record_group(state: LockState, change: Change) -> LockState:
    group_id = change.payload.group_id
    if change.action is Action.DELETE:
        return _without_group(state, group_id)
    if change.action is Action.UPDATE:
        update = change.payload_as(GroupUpdate)
        group = _group(state, group_id, change)
        if update.name is not None:
            group = replace(group, name_digest=text_digest(update.name) or "")
        if update.user_data is not None:
            group = replace(group, user_data_digest=text_digest(update.user_data))
        return _put_group(state, group)
    # create or replace: a new, empty, never trained group (old ids are gone)
    spec = change.payload_as(GroupSpec)
    return _put_group(
        state,
        LockedGroup(
            group_id=group_id,
            kind=spec.kind,
            recognition_model=spec.recognition_model,
            name_digest=text_digest(spec.name) or "",
            user_data_digest=text_digest(spec.user_data),
            training_status=None,
            needs_training=True,
        ),
    )


def _record_person(state: LockState, change: Change, result: CallResult) -> LockState:
    group = _group(state, change.payload.group_id, change)
    if change.action is Action.DELETE:
        ref = change.payload_as(PersonRef)
        if ref.unrecorded:  # a duplicate or orphan the lock never knew: only training
            return _put_group(state, replace(group, needs_training=True))
        persons = tuple(p for p in group.persons if p.key != ref.person_key)
        return _put_group(state, replace(group, persons=persons, needs_training=True))
    if change.action is Action.UPDATE:
        update = change.payload_as(PersonUpdate)
        person = _person(group, update.person_key, change)
        if update.name is not None:
            person = replace(person, name_digest=text_digest(update.name) or "")
        if update.user_data is not None:
            person = replace(person, user_data_digest=text_digest(update.user_data))
        return _put_person(state, group, person, train=False)
    # create (also of a person deleted on the server): its old faces are gone
    spec = change.payload_as(PersonSpec)
    person = LockedPerson(
        key=spec.person_key,
        person_id=_required(result.person_id, change),
        name_digest=text_digest(spec.name) or "",
        user_data_digest=text_digest(spec.user_data),
    )
    return _put_person(state, group, person, train=True)


def _record_face(state: LockState, change: Change, result: CallResult) -> LockState:
    group = _group(state, change.payload.group_id, change)
    if change.action is Action.DELETE:
        ref = change.payload_as(FaceRef)
        if ref.unrecorded:  # a duplicate or orphan the lock never knew: only training
            return _put_group(state, replace(group, needs_training=True))
        person = _person(group, ref.person_key, change)
        kept = tuple(f for f in person.faces if f.sha256 != ref.sha256)
        return _put_person(state, group, replace(person, faces=kept), train=True)
    if change.action is Action.UPDATE:
        update = change.payload_as(FaceUpdate)
        person = _person(group, update.person_key, change)
        face = person.face(update.sha256)
        if face is None:
            raise PlanError(f"{change.address}: the lock does not record this face; plan again")
        face = replace(face, user_data_digest=text_digest(update.user_data), path=update.path)
        return _put_person(state, group, person.with_face(face), train=False)
    # create, replace: drop the old face(s) first
    spec = change.payload_as(FaceSpec)
    person = _person(group, spec.person_key, change)
    gone = {spec.sha256, spec.old_sha256}
    person = replace(person, faces=tuple(f for f in person.faces if f.sha256 not in gone))
    new_id = result.persisted_face_id
    if new_id:
        face = LockedFace(
            sha256=spec.sha256,
            path=spec.path,
            persisted_face_id=new_id,
            target_face=spec.target_face,
            detection_model=spec.detection_model,
            user_data_digest=text_digest(spec.user_data),
        )
        person = person.with_face(face)
    return _put_person(state, group, person, train=True)


def _required(person_id: str | None, change: Change) -> str:
    if person_id is None:
        raise ValueError(f"{change.address}: a person create's result carries its id")
    return person_id


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
        if update.action is not LockAction.ADOPT:
            state = _apply_lock_update(state, update)
    return state


def _adopt(state: LockState, update: LockUpdate) -> LockState:
    """Record an adopted object unless the lock already has it (idempotent)."""
    adopted = update.payload
    group = state.group(adopted.group_id)
    if isinstance(adopted, AdoptGroup):
        if group is not None:
            return state
        return _put_group(state, LockedGroup(
            group_id=adopted.group_id, kind=adopted.kind,
            recognition_model=adopted.recognition_model, name_digest=adopted.name_digest,
            user_data_digest=adopted.user_data_digest,
            training_status=adopted.training_status, needs_training=True,
        ))
    if group is None:
        return state
    if isinstance(adopted, AdoptPerson):
        person = group.person(adopted.person_key)
        if person is not None and person.person_id == adopted.person_id:
            return state
        return _put_person(state, group, LockedPerson(
            key=adopted.person_key, person_id=adopted.person_id,
            name_digest=adopted.name_digest, user_data_digest=adopted.user_data_digest,
        ), train=True)
    face_adopted = update.payload_as(AdoptFace)
    person = group.person(face_adopted.person_key)
    if person is None:
        return state
    face = person.face(face_adopted.sha256)
    if face is not None and face.persisted_face_id == face_adopted.persisted_face_id:
        return state
    adopted_face = LockedFace(
        sha256=face_adopted.sha256, path=face_adopted.path,
        persisted_face_id=face_adopted.persisted_face_id,
        target_face=face_adopted.target_face, detection_model=face_adopted.detection_model,
        user_data_digest=face_adopted.user_data_digest,
    )
    return _put_person(state, group, person.with_face(adopted_face), train=True)


def _apply_lock_update(state: LockState, update: LockUpdate) -> LockState:
    """A move or a forget; what the lock no longer records is skipped."""
    payload = update.payload
    if not isinstance(payload, (Move, Forget)):
        return state
    group = state.group(payload.group_id)
    if group is None:
        return state
    if payload.person_key is None:  # a group
        return _without_group(state, group.group_id)
    person = group.person(payload.person_key)
    if person is None:
        return state
    if payload.sha256 is None:  # a person
        persons = tuple(p for p in group.persons if p.key != person.key)
        return _put_group(state, replace(group, persons=persons))
    face = person.face(payload.sha256)
    if face is None:
        return state
    if isinstance(payload, Move):
        return _put_person(state, group, person.with_face(replace(face, path=payload.path)),
                           train=False)
    faces = tuple(f for f in person.faces if f.sha256 != face.sha256)
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

