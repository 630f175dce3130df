"""The diff of one group's persons and faces (see facesync.plan.diff).

Pure: reads desired, recorded and observed values, appends to a Collector.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from facesync.digest import text_digest
from facesync.manifest.model import DesiredFace, DesiredGroup, DesiredPerson
from facesync.markers import face_user_data, person_key_from_marker, person_user_data
from facesync.plan.model import Action, Address, Change, LockAction, LockUpdate, Unmanaged
from facesync.plan.payloads import (
    ChangePayload,
    FaceRef,
    FaceSpec,
    FaceUpdate,
    Forget,
    Move,
    PersonRef,
    PersonSpec,
    PersonUpdate,
)
from facesync.state.model import (
    LockedFace,
    LockedGroup,
    LockedPerson,
    ObservedGroup,
    ObservedPerson,
    ObservedState,
)

DRIFT = "deleted on the server; will be created again"
GONE = "already deleted on the server; forgotten in the lock"
REMOVED = "not in the manifest"


@dataclass
class Collector:
    """What the walk finds, in any order; the diff sorts it at the end."""

    observed: ObservedState | None
    changes: list[Change] = field(default_factory=list)
    lock_updates: list[LockUpdate] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    # Recovery (facesync.plan.adopt): ids of unrecorded objects of facesync's that
    # the plan deletes, and (kind, id) of groups adopted from the journal.
    claimed: set[str] = field(default_factory=set)
    adopted_groups: set[tuple[str, str]] = field(default_factory=set)
    # Claimed objects deleted because which manifest object they are cannot be told:
    # a create planned beside them must never take them for its own result.
    doomed: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # warnings of adoption (take-overs)

    @property
    def refreshed(self) -> bool:
        return self.observed is not None

    def add(self, address: Address, action: Action, payload: ChangePayload, reason: str = "",
            before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self.changes.append(Change(address, action, reason, before, after, payload=payload))

    def forget(self, address: Address, payload: Forget, description: str = GONE) -> None:
        self.lock_updates.append(LockUpdate(address, LockAction.FORGET, description, payload))


def quoted(text: str | None) -> str:
    return json.dumps(text, ensure_ascii=False)


def same_text(a: str | None, b: str | None) -> bool:
    """The service does not tell an unset userData from an empty one."""
    return (a or "") == (b or "")


def same_digest(value: str | None, digest: str | None) -> bool:
    return text_digest(value or "") == (digest or text_digest(""))


# --- creating everything under a person ---------------------------------------------


def create_person(out: Collector, group: DesiredGroup, person: DesiredPerson,
                  reason: str = "", preexisting: Sequence[str] = ()) -> None:
    """A new person (or one lost on the server) and all its faces. `preexisting`:
    persons already there with the same name and userData (never taken for ours)."""
    address = Address(group.group_id, person.key)
    out.add(address, Action.CREATE, PersonSpec(
        group_id=group.group_id,
        kind=group.kind,
        person_key=person.key,
        name=person.name,
        user_data=person_user_data(person.key, person.user_data),
        preexisting=tuple(sorted(preexisting)),
    ), reason, after={"name": person.name})
    for face in person.faces:
        create_face(out, group, person, face, None)


def create_face(out: Collector, group: DesiredGroup, person: DesiredPerson, face: DesiredFace,
                person_id: str | None, reason: str = "", preexisting: Sequence[str] = ()) -> None:
    out.add(Address(group.group_id, person.key, face.path), Action.CREATE,
            face_spec(group, person, face, person_id, preexisting), reason, after=face_view(face))


def face_spec(group: DesiredGroup, person: DesiredPerson, face: DesiredFace,
              person_id: str | None, preexisting: Sequence[str] = ()) -> FaceSpec:
    """What the executor needs to add a face; `preexisting`: faces already on the
    person with the same userData (never taken for ours)."""
    return FaceSpec(
        group_id=group.group_id,
        kind=group.kind,
        person_key=person.key,
        person_id=person_id,
        sha256=face.sha256,
        path=face.path,
        abs_path=str(face.abs_path),
        target_face=face.target_face,
        user_data=face_user_data(face.sha256, face.user_data),
        detection_model=face.detection_model,
        preexisting=tuple(sorted(preexisting)),
    )


def face_view(face: DesiredFace | LockedFace) -> dict[str, Any]:
    target = list(face.target_face) if face.target_face is not None else None
    return {"sha256": face.sha256, "targetFace": target, "detectionModel": face.detection_model}


# --- persons of a kept group -------------------------------------------------------------


def diff_persons(out: Collector, group: DesiredGroup, locked: LockedGroup,
                 seen: ObservedGroup | None) -> None:
    """Persons of a group that stays (neither new, lost nor replaced)."""
    wanted = {p.key: p for p in group.persons}
    recorded = {p.key: p for p in locked.persons}
    on_server = {p.person_id: p for p in seen.persons} if seen is not None else {}
    for key in sorted(wanted.keys() | recorded.keys()):
        want, have = wanted.get(key), recorded.get(key)
        seen_person = on_server.get(have.person_id) if have is not None else None
        address = Address(group.group_id, key)
        if have is None:
            create_person(out, group, want, "", _twins(out, locked, seen, want))  # type: ignore[arg-type]
        elif want is None:
            if out.refreshed and seen_person is None:
                out.forget(address, Forget(group.group_id, group.kind, person_key=key))
            else:
                out.add(address, Action.DELETE,
                        PersonRef(group.group_id, group.kind, key, have.person_id), REMOVED,
                        before={"personId": have.person_id})
        elif out.refreshed and seen_person is None:
            create_person(out, group, want, DRIFT, _twins(out, locked, seen, want))
        else:
            _update_person(out, group, want, have, seen_person)
            diff_faces(out, group, want, have, seen_person)
            _unmanaged_faces(out, group.group_id, have, seen_person)


def _twins(out: Collector, locked: LockedGroup, seen: ObservedGroup | None,
           want: DesiredPerson) -> list[str]:
    """Unrecorded persons with the name and userData a create of `want` sends:
    its journal intent must never take them for the answer-less create's result."""
    if seen is None:
        return []
    known = {p.person_id for p in locked.persons} | (out.claimed - out.doomed)
    user_data = person_user_data(want.key, want.user_data)
    return [p.person_id for p in seen.persons if p.person_id not in known
            and p.name == want.name and same_text(p.user_data, user_data)]


def _update_person(out: Collector, group: DesiredGroup, want: DesiredPerson, have: LockedPerson,
                   seen: ObservedPerson | None) -> None:
    user_data = person_user_data(want.key, want.user_data)
    if seen is not None:
        name_changed = want.name != seen.name
        data_changed = not same_text(user_data, seen.user_data)
        old_name: str | None = seen.name
        old_digest = text_digest(seen.user_data or "")
    else:
        name_changed = text_digest(want.name) != have.name_digest
        data_changed = not same_digest(user_data, have.user_data_digest)
        old_name, old_digest = None, have.user_data_digest
    if not (name_changed or data_changed):
        return
    reason, before, after = describe_update(
        want.name if name_changed else None, old_name,
        (old_digest, text_digest(user_data)) if data_changed else None,
    )
    out.add(Address(group.group_id, want.key), Action.UPDATE, PersonUpdate(
        group_id=group.group_id,
        kind=group.kind,
        person_key=want.key,
        person_id=have.person_id,
        name=want.name if name_changed else None,
        user_data=user_data if data_changed else None,
    ), reason, before, after)


def describe_update(
    new_name: str | None, old_name: str | None, digests: tuple[str | None, str | None] | None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Reason, before and after of a name/userData update (userData shown only as digests:
    it may hold personal text)."""
    parts, before, after = [], {}, {}
    if new_name is not None:
        old = quoted(old_name) if old_name is not None else "(recorded digest)"
        parts.append(f"name: {old} -> {quoted(new_name)}")
        if old_name is not None:
            before["name"] = old_name
        after["name"] = new_name
    if digests is not None:
        parts.append("userData changed")
        before["userDataDigest"], after["userDataDigest"] = digests
    return ", ".join(parts), before, after


def _unmanaged_faces(out: Collector, group_id: str, have: LockedPerson,
                     seen: ObservedPerson | None) -> None:
    if seen is None:
        return
    known = {f.persisted_face_id for f in have.faces} | out.claimed
    for face_id in seen.persisted_face_ids:
        if face_id not in known:
            out.unmanaged.append(Unmanaged(f"{group_id}/{have.key}/{face_id}",
                                           "face not recorded in the lock"))


def unmanaged_persons(out: Collector, locked: LockedGroup, seen: ObservedGroup | None) -> int:
    """List the persons of a managed group that the lock does not know; return how many."""
    if seen is None:
        return 0
    known = {p.person_id for p in locked.persons}
    count = 0
    for person in seen.persons:
        if person.person_id in known or person.person_id in out.claimed:
            continue
        count += 1
        description = f"person {quoted(person.name)}"
        marker = person_key_from_marker(person.user_data)
        if marker is not None:
            description += (f", marked as facesync's {quoted(marker)} "
                            "(left by an interrupted apply?)")
        out.unmanaged.append(Unmanaged(f"{locked.group_id}/{person.person_id}", description))
    return count


# --- faces of a kept person ----------------------------------------------------------------


def diff_faces(out: Collector, group: DesiredGroup, want: DesiredPerson, have: LockedPerson,
               seen: ObservedPerson | None) -> None:
    """Faces by sha256; new bytes at a recorded path replace the face that was there."""
    locked = {f.sha256: f for f in have.faces}
    wanted = {f.sha256: f for f in want.faces}
    on_server = set(seen.persisted_face_ids) if seen is not None else None
    twins = _face_twins(out, have, seen)
    gone = {sha: f for sha, f in locked.items() if sha not in wanted}
    gone_by_path: dict[str, LockedFace] = {}
    for old in sorted(gone.values(), key=lambda f: f.sha256):
        gone_by_path.setdefault(old.path, old)
    for sha, face in sorted(wanted.items()):
        old = locked.get(sha)
        if old is None:
            old = gone_by_path.pop(face.path, None)
            if old is not None:
                del gone[old.sha256]
            _new_bytes(out, group, want, have, face, old, on_server, twins(face))
        elif on_server is not None and old.persisted_face_id not in on_server:
            create_face(out, group, want, face, have.person_id, DRIFT, twins(face))
        else:
            _kept_face(out, group, want, have, face, old, twins(face))
    for _, old in sorted(gone.items()):
        _removed_face(out, group, have, old, on_server)


def _face_twins(out: Collector, have: LockedPerson,
                seen: ObservedPerson | None) -> Callable[[DesiredFace], list[str]]:
    """For a face to add: the unrecorded faces of the person with the same
    userData (or unread), which its journal intent must never take for ours."""
    if seen is None:
        return lambda face: []
    known = {f.persisted_face_id for f in have.faces} | (out.claimed - out.doomed)
    unknown = [f for f in seen.persisted_face_ids if f not in known]
    if not unknown:
        return lambda face: []
    read = out.observed.face_user_data() if out.observed is not None else {}

    def twins(face: DesiredFace) -> list[str]:
        sent = face_user_data(face.sha256, face.user_data)
        return [f for f in unknown if f not in read or same_text(read[f], sent)]

    return twins


def _new_bytes(out: Collector, group: DesiredGroup, want: DesiredPerson, have: LockedPerson,
               face: DesiredFace, old: LockedFace | None, on_server: set[str] | None,
               twins: list[str]) -> None:
    if old is None:
        create_face(out, group, want, face, have.person_id, "", twins)
        return
    reason = "image bytes changed"
    if on_server is not None and old.persisted_face_id not in on_server:
        create_face(out, group, want, face, have.person_id, reason, twins)
        out.forget(Address(group.group_id, want.key, old.path), _forget_face(group, have, old))
        return
    spec = _replacing(face_spec(group, want, face, have.person_id, twins), old)
    out.add(Address(group.group_id, want.key, face.path), Action.REPLACE, spec,
            f"{reason} forces replacement", before=face_view(old), after=face_view(face))


def _kept_face(out: Collector, group: DesiredGroup, want: DesiredPerson, have: LockedPerson,
               face: DesiredFace, old: LockedFace, twins: list[str]) -> None:
    address = Address(group.group_id, want.key, face.path)
    forced = []
    if face.target_face != old.target_face:
        forced.append(f"targetFace: {_box(old.target_face)} -> {_box(face.target_face)}")
    if face.detection_model != old.detection_model:
        forced.append(f"detectionModel: {old.detection_model} -> {face.detection_model}")
    if forced:
        spec = _replacing(face_spec(group, want, face, have.person_id, twins), old)
        out.add(address, Action.REPLACE, spec, ", ".join(forced) + " forces replacement",
                before=face_view(old), after=face_view(face))
        return
    user_data = face_user_data(face.sha256, face.user_data)
    if not same_digest(user_data, old.user_data_digest):
        out.add(address, Action.UPDATE, FaceUpdate(
            group_id=group.group_id,
            kind=group.kind,
            person_key=have.key,
            person_id=have.person_id,
            sha256=old.sha256,
            persisted_face_id=old.persisted_face_id,
            path=face.path,
            user_data=user_data,
        ), "userData changed", before={"userDataDigest": old.user_data_digest},
            after={"userDataDigest": text_digest(user_data)})
    elif face.path != old.path:
        out.lock_updates.append(LockUpdate(
            address, LockAction.MOVE,
            f"same image as {old.path}; only the lock records the new path",
            Move(group.group_id, group.kind, have.key, old.sha256, face.path),
        ))


def _removed_face(out: Collector, group: DesiredGroup, have: LockedPerson, old: LockedFace,
                  on_server: set[str] | None) -> None:
    address = Address(group.group_id, have.key, old.path)
    if on_server is not None and old.persisted_face_id not in on_server:
        out.forget(address, _forget_face(group, have, old))
        return
    out.add(address, Action.DELETE, FaceRef(
        group_id=group.group_id,
        kind=group.kind,
        person_key=have.key,
        person_id=have.person_id,
        sha256=old.sha256,
        persisted_face_id=old.persisted_face_id,
        path=old.path,
    ), REMOVED, before={"sha256": old.sha256, "persistedFaceId": old.persisted_face_id})


def _forget_face(group: DesiredGroup, have: LockedPerson, face: LockedFace) -> Forget:
    return Forget(group.group_id, group.kind, person_key=have.key, sha256=face.sha256)


def _replacing(spec: FaceSpec, old: LockedFace) -> FaceSpec:
    """`spec` as a replace: the old face is deleted first, then forgotten."""
    return replace(spec, old_persisted_face_id=old.persisted_face_id, old_sha256=old.sha256)


def _box(target: tuple[int, ...] | None) -> str:
    return "[" + ", ".join(str(v) for v in target) + "]" if target is not None else "whole image"
