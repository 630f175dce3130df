"""How the recorded state changes as apply goes: no I/O.

`record_into` folds the result of one successful server mutation into a
WorkingLock at a cost that does not grow with the gallery (the caller logs
it durably at once, so an interrupted apply loses no id); `record` does the
same for a LockState value;
`begin` records the plan's adoptions (objects facesync created but never
recorded) before any change runs, since later changes build on them;
`finish` applies the plan's other lock-only updates (renamed images, objects
gone from both the manifest and the server).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from facesync.digest import text_digest
from facesync.engine.working_lock import WorkingLock
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
    working = WorkingLock(state)
    record_into(working, change, result)
    return working.to_state()


def record_into(lock: WorkingLock, change: Change, result: CallResult) -> None:
    """Record in `lock` that `change` succeeded on the server with `result`."""
    kind = change.address.type
    if change.action is Action.TRAIN:
        if result.training_status is None:
            raise ValueError(f"{change.address}: a training's result carries its status")
        _set_training(lock, change.payload.group_id, result.training_status)
    elif kind is ResourceType.GROUP:
        _record_group(lock, change)
    elif kind is ResourceType.PERSON:
        _record_person(lock, change, result)
    else:
        _record_face(lock, change, result)


def _record_group(lock: WorkingLock, change: Change) -> None:
    group_id = change.payload.group_id
    if change.action is Action.DELETE:
        lock.drop_group(group_id)
        return
    if change.action is Action.UPDATE:
        update = change.payload_as(GroupUpdate)
        group = _group(lock, group_id, change)
        if update.name is not None:
            group = replace(group, name_digest=text_digest(update.name) or "")
        if update.user_data is not None:
            group = replace(group, user_data_digest=text_digest(update.user_data))
        lock.put_group(group)
        return
    # create or replace: a new, empty, never trained group (old ids are gone)
    spec = change.payload_as(GroupSpec)
    lock.put_group(
        LockedGroup(
            group_id=group_id,
            kind=spec.kind,
            recognition_model=spec.recognition_model,
            name_digest=text_digest(spec.name) or "",
            user_data_digest=text_digest(spec.user_data),
            training_status=None,
            needs_training=True,
        ),
        keep_persons=False,
    )


def _record_person(lock: WorkingLock, change: Change, result: CallResult) -> None:
    group = _group(lock, change.payload.group_id, change)
    gid = group.group_id
    if change.action is Action.DELETE:
        ref = change.payload_as(PersonRef)
        if ref.unrecorded:  # a duplicate or orphan the lock never knew: only training
            lock.put_group(replace(group, needs_training=True))
        else:
            lock.drop_person(gid, ref.person_key, train=True)
        return
    if change.action is Action.UPDATE:
        update = change.payload_as(PersonUpdate)
        person = _person(lock, gid, update.person_key, change)
        if update.name is not None:
            person = replace(person, name_digest=text_digest(update.name) or "")
        if update.user_data is not None:
            person = replace(person, user_data_digest=text_digest(update.user_data))
        lock.put_person(gid, person, train=False)
        return
    # create (also of a person deleted on the server): its old faces are gone
    spec = change.payload_as(PersonSpec)
    person = LockedPerson(
        key=spec.person_key,
        person_id=_required(result.person_id, change),
        name_digest=text_digest(spec.name) or "",
        user_data_digest=text_digest(spec.user_data),
    )
    lock.put_person(gid, person, train=True)


def _record_face(lock: WorkingLock, change: Change, result: CallResult) -> None:
    group = _group(lock, change.payload.group_id, change)
    gid = group.group_id
    if change.action is Action.DELETE:
        ref = change.payload_as(FaceRef)
        if ref.unrecorded:  # a duplicate or orphan the lock never knew: only training
            lock.put_group(replace(group, needs_training=True))
            return
        person = _person(lock, gid, ref.person_key, change)
        kept = tuple(f for f in person.faces if f.sha256 != ref.sha256)
        lock.put_person(gid, replace(person, faces=kept), train=True)
        return
    if change.action is Action.UPDATE:
        update = change.payload_as(FaceUpdate)
        person = _person(lock, gid, update.person_key, change)
        face = person.face(update.sha256)
        if face is None:
            raise PlanError(f"{change.address}: the lock does not record this face; plan again")
        face = replace(face, user_data_digest=text_digest(update.user_data), path=update.path)
        lock.put_person(gid, person.with_face(face), train=False)
        return
    # create, replace: drop the old face(s) first
    spec = change.payload_as(FaceSpec)
    person = _person(lock, gid, spec.person_key, change)
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
    lock.put_person(gid, person, train=True)


def _required(person_id: str | None, change: Change) -> str:
    if person_id is None:
        raise ValueError(f"{change.address}: a person create's result carries its id")
    return person_id


def _set_training(lock: WorkingLock, group_id: str, status: str) -> None:
    group = lock.group(group_id)
    if group is None:  # deleted meanwhile: nothing to record
        return
    status = status.lower()
    lock.put_group(
        replace(group, training_status=status, needs_training=status not in _TRAINING_STARTED)
    )


# --- lock-only updates ---------------------------------------------------------------


def begin(state: LockState, plan: Plan) -> LockState:
    """Record the plan's adoptions: groups, then persons, then faces."""
    lock = WorkingLock(state)
    _begin(lock, plan)
    return lock.to_state()


def finish(state: LockState, plan: Plan) -> LockState:
    """Apply the plan's lock-only updates; objects no longer recorded are skipped.
    Adoptions that `begin` recorded are not recorded again."""
    lock = WorkingLock(state)
    _begin(lock, plan)
    for update in plan.lock_updates:
        if update.action is not LockAction.ADOPT:
            _apply_lock_update(lock, update)
    return lock.to_state()


def _begin(lock: WorkingLock, plan: Plan) -> None:
    for update in sorted(plan.adoptions, key=lambda u: u.address.sort_key):
        _adopt(lock, update)


def _adopt(lock: WorkingLock, update: LockUpdate) -> None:
    """Record an adopted object unless the lock already has it (idempotent)."""
    adopted = update.payload
    group = lock.group(adopted.group_id)
    if isinstance(adopted, AdoptGroup):
        if group is None or group.kind != adopted.kind:  # new, or the new kind's group
            lock.put_group(LockedGroup(
                group_id=adopted.group_id, kind=adopted.kind,
                recognition_model=adopted.recognition_model, name_digest=adopted.name_digest,
                user_data_digest=adopted.user_data_digest,
                training_status=adopted.training_status, needs_training=True,
            ), keep_persons=False)
        return
    if group is None:
        return
    gid = group.group_id
    if isinstance(adopted, AdoptPerson):
        person = lock.person(gid, adopted.person_key)
        if person is None or person.person_id != adopted.person_id:
            lock.put_person(gid, LockedPerson(
                key=adopted.person_key, person_id=adopted.person_id,
                name_digest=adopted.name_digest, user_data_digest=adopted.user_data_digest,
            ), train=True)
        return
    face_adopted = update.payload_as(AdoptFace)
    person = lock.person(gid, face_adopted.person_key)
    if person is None:
        return
    face = person.face(face_adopted.sha256)
    if face is not None and face.persisted_face_id == face_adopted.persisted_face_id:
        return
    adopted_face = LockedFace(
        sha256=face_adopted.sha256, path=face_adopted.path,
        persisted_face_id=face_adopted.persisted_face_id,
        target_face=face_adopted.target_face, detection_model=face_adopted.detection_model,
        user_data_digest=face_adopted.user_data_digest,
    )
    lock.put_person(gid, person.with_face(adopted_face), train=True)


def _apply_lock_update(lock: WorkingLock, update: LockUpdate) -> None:
    """A move or a forget; what the lock no longer records is skipped."""
    payload = update.payload
    if not isinstance(payload, (Move, Forget)):
        return
    group = lock.group(payload.group_id)
    if group is None:
        return
    gid = group.group_id
    if payload.person_key is None:  # a group
        lock.drop_group(gid)
        return
    person = lock.person(gid, payload.person_key)
    if person is None:
        return
    if payload.sha256 is None:  # a person
        lock.drop_person(gid, person.key, train=False)
        return
    face = person.face(payload.sha256)
    if face is None:
        return
    if isinstance(payload, Move):
        lock.put_person(gid, person.with_face(replace(face, path=payload.path)), train=False)
        return
    faces = tuple(f for f in person.faces if f.sha256 != face.sha256)
    lock.put_person(gid, replace(person, faces=faces), train=False)


# --- lookups that refuse a stale plan --------------------------------------------------


def _group(lock: WorkingLock, group_id: str, change: Change) -> LockedGroup:
    group = lock.group(group_id)
    if group is None:
        raise PlanError(f"{change.address}: group '{group_id}' is not in the lock; plan again")
    return group


def _person(lock: WorkingLock, group_id: str, key: str, change: Change) -> LockedPerson:
    person = lock.person(group_id, key)
    if person is None:
        raise PlanError(f"{change.address}: person '{key}' is not in the lock; plan again")
    return person
