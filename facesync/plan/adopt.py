"""Adoption: objects facesync created whose ids never reached the lock.

An apply killed between the server's answer and the lock write, or a POST
whose answer was lost, leaves an object on the server that the lock does not
know. It is facesync's when its userData marker says so, or when a pending
journal intent matches it (facesync.state.journal). The plan then adopts it
(a lock-only update, no server call) when the manifest still wants it and the
lock has no live object for it, and deletes it otherwise: a duplicate or an
orphan. What is not provably facesync's is never adopted or deleted.

Pure: reads desired, recorded and observed values, appends to a Collector.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from facesync.digest import text_digest
from facesync.errors import PlanError
from facesync.limits import PERSON_KEY_RE
from facesync.manifest.model import DesiredGroup, DesiredPerson
from facesync.plan.diff_members import Collector
from facesync.plan.model import Action, Address, LockAction, LockUpdate
from facesync.plan.payloads import AdoptFace, AdoptGroup, AdoptPerson, FaceRef, PersonRef
from facesync.state.journal import (
    Intent,
    face_images,
    intends_group,
    person_keys,
    retired_face,
)
from facesync.state.model import (
    LockedFace,
    LockedGroup,
    LockedPerson,
    ObservedGroup,
    ObservedPerson,
)

LEFT = "left by an interrupted apply"
_NAMED = 3  # persons a take-over warning names


def adopt_group(
    out: Collector, want: DesiredGroup, intents: Sequence[Intent], *, forced: bool = False
) -> LockedGroup | None:
    """The group, as the lock will record it, when facesync's own PUT of it lost
    its answer (a pending intent for exactly this id and kind; also after a kind
    change, whose new group replaces the lock's entry), or when the user takes it
    over (`forced`, --adopt-group); else None."""
    if out.observed is None:
        return None
    seen = out.observed.group(want.group_id)
    if seen is None or seen.kind != want.kind:
        return None
    journal = intends_group(want.kind, want.group_id, intents)
    if not journal and not forced:
        return None
    group = LockedGroup(
        group_id=want.group_id,
        kind=want.kind,
        recognition_model=seen.recognition_model,
        name_digest=text_digest(seen.name) or "",
        user_data_digest=text_digest(seen.user_data),
        training_status=seen.training_status,
        needs_training=True,
    )
    if journal:
        description = "adopt the group an interrupted apply created"
    else:
        description = "take over the group (--adopt-group)"
        out.notes.append(take_over_note(seen))
    out.adopted_groups.add((want.kind, want.group_id))
    out.lock_updates.append(LockUpdate(
        Address(want.group_id), LockAction.ADOPT, description,
        AdoptGroup(
            group_id=group.group_id, kind=group.kind,
            recognition_model=group.recognition_model, name_digest=group.name_digest,
            user_data_digest=group.user_data_digest, training_status=group.training_status,
        ),
    ))
    return group


def check_rebound(
    out: Collector, have: LockedGroup, intents: Sequence[Intent], *, forced: bool
) -> None:
    """After --rebind, a group the moved lock records that exists on the new
    endpoint is facesync's only if the server holds a person the lock recorded
    (personIds are unique to their resource) or the journal claims its create;
    else it is someone else's with the same id: refused, unless taken over."""
    seen = out.observed.group(have.group_id) if out.observed is not None else None
    if seen is None or seen.kind != have.kind:
        return  # absent: created again (drift), never anyone else's
    if any(seen.person(p.person_id) is not None for p in have.persons) or intends_group(
        have.kind, have.group_id, intents
    ):
        return
    if forced:
        out.notes.append(take_over_note(seen))
        return
    raise PlanError(
        f"group '{have.group_id}' already exists on the server but this lock does not "
        "manage it there (the lock was moved with --rebind and holds none of its persons); "
        f"pick another id, delete it, or take it over with --adopt-group {have.group_id}"
    )


def take_over_note(seen: ObservedGroup) -> str:
    """The warning of a take-over: what is in the group facesync will manage now."""
    n = len(seen.persons)
    names = ", ".join(json.dumps(p.name, ensure_ascii=False) for p in seen.persons[:_NAMED])
    more = ", ..." if n > _NAMED else ""
    held = f"{n} person{'' if n == 1 else 's'}" + (f" ({names}{more})" if n else "")
    return (
        f"Taking over group '{seen.group_id}' (--adopt-group): it holds {held} that this "
        "lock does not record; they are left alone, but destroying the group deletes them."
    )


def adopt_members(out: Collector, want: DesiredGroup, have: LockedGroup, seen: ObservedGroup,
                  intents: Sequence[Intent]) -> LockedGroup:
    """`have` with facesync's unrecorded persons and faces adopted; the ones
    that cannot be adopted (duplicates, orphans) are planned for deletion."""
    live = {p.person_id: p for p in seen.persons}
    recorded = {p.key: p for p in have.persons}
    known = {p.person_id for p in have.persons}
    claims: dict[str, list[ObservedPerson]] = defaultdict(list)
    for p in seen.persons:
        if p.person_id not in known:
            keys = person_keys(have.kind, have.group_id, p, intents)
            if len(keys) == 1:
                claims[next(iter(keys))].append(p)
            elif keys:  # facesync's, but which person it is cannot be told
                _delete_unknowable_person(out, want, p, len(keys))
    persons = dict(recorded)
    for key, found in sorted(claims.items()):
        # The one with the most faces has the most work done; ties: smallest id.
        found.sort(key=lambda p: (-len(p.persisted_face_ids), p.person_id))
        mine = recorded.get(key)
        alive = mine is not None and mine.person_id in live
        kept = False
        if want.person(key) is not None and not alive:
            persons[key] = _adopt_person(out, want, key, found.pop(0))
            kept = True
        for extra in found:
            _delete_person(out, want, key, extra, duplicate=kept or alive)
    read = out.observed.face_user_data() if out.observed is not None else {}
    for key, person in sorted(persons.items()):
        desired, seen_person = want.person(key), live.get(person.person_id)
        if desired is not None and seen_person is not None:
            persons[key] = _adopt_faces(out, want, desired, person, seen_person, read, intents)
    if persons == recorded:
        return have
    return replace(have, persons=tuple(sorted(persons.values(), key=lambda p: p.key)))


# --- persons ----------------------------------------------------------------------------


def _adopt_person(out: Collector, want: DesiredGroup, key: str, p: ObservedPerson) -> LockedPerson:
    person = LockedPerson(
        key=key,
        person_id=p.person_id,
        name_digest=text_digest(p.name) or "",
        user_data_digest=text_digest(p.user_data),
    )
    out.lock_updates.append(LockUpdate(
        Address(want.group_id, key), LockAction.ADOPT, f"adopt personId {p.person_id} {LEFT}",
        AdoptPerson(
            group_id=want.group_id, kind=want.kind, person_key=key,
            person_id=p.person_id, name_digest=person.name_digest,
            user_data_digest=person.user_data_digest,
        ),
    ))
    return person


def _delete_person(out: Collector, want: DesiredGroup, key: str, p: ObservedPerson, *,
                   duplicate: bool) -> None:
    if duplicate:
        reason = f"duplicate personId {p.person_id} {LEFT}"
    else:
        reason = f"personId {p.person_id} {LEFT}; not in the manifest"
    # A marker can name any text; an address needs a valid key.
    shown = key if PERSON_KEY_RE.fullmatch(key) else p.person_id
    out.claimed.add(p.person_id)
    out.add(Address(want.group_id, shown), Action.DELETE, PersonRef(
        group_id=want.group_id, kind=want.kind, person_key=key,
        person_id=p.person_id, unrecorded=True,
    ), reason, before={"personId": p.person_id, "name": p.name})


def _delete_unknowable_person(out: Collector, want: DesiredGroup, p: ObservedPerson,
                              candidates: int) -> None:
    """A person an answer-less create made, that several pending creates with the
    same name and userData may have made: adopting it could give one key another's
    faces, so it goes and the plan creates what the lock lacks."""
    out.claimed.add(p.person_id)
    out.doomed.add(p.person_id)
    out.add(Address(want.group_id, p.person_id), Action.DELETE, PersonRef(
        group_id=want.group_id, kind=want.kind, person_key=p.person_id,
        person_id=p.person_id, unrecorded=True,
    ), f"personId {p.person_id} {LEFT}; it may be any of {candidates} persons with its "
       "name and userData", before={"personId": p.person_id, "name": p.name})


# --- faces --------------------------------------------------------------------------------


def _adopt_faces(out: Collector, group: DesiredGroup, want: DesiredPerson, person: LockedPerson,
                 seen: ObservedPerson, read: dict[str, str | None],
                 intents: Sequence[Intent]) -> LockedPerson:
    known = {f.persisted_face_id for f in person.faces}
    on_server = set(seen.persisted_face_ids)
    claims: dict[str, list[str]] = defaultdict(list)
    for face_id in seen.persisted_face_ids:
        if face_id in known or face_id not in read:
            continue  # recorded, or not read (never judged: left alone)
        retired = retired_face(group.kind, group.group_id, person.person_id, face_id, intents)
        if retired is not None:  # the old face of a replacement whose new face was added
            _delete_face(out, group, person, face_id, retired.sha256 or "", None,
                         reason=f"old face of a replacement {LEFT}")
            continue
        shas = face_images(group.kind, group.group_id, person.person_id, face_id,
                           read[face_id], intents)
        if len(shas) == 1:
            claims[next(iter(shas))].append(face_id)
        elif shas:  # facesync's, but which photo it shows cannot be told
            _delete_unknowable_face(out, group, person, face_id, shas)
    desired = {f.sha256: f for f in want.faces}
    for sha, ids in sorted(claims.items()):
        ids.sort()
        current = person.face(sha)
        alive = current is not None and current.persisted_face_id in on_server
        wanted = desired.get(sha)
        if wanted is not None and not alive:
            face_id = ids.pop(0)
            face = LockedFace(
                sha256=sha, path=wanted.path, persisted_face_id=face_id,
                target_face=wanted.target_face, detection_model=wanted.detection_model,
                user_data_digest=text_digest(read[face_id]),
            )
            person = person.with_face(face)
            out.lock_updates.append(LockUpdate(
                Address(group.group_id, want.key, wanted.path), LockAction.ADOPT,
                f"adopt persistedFaceId {face_id} {LEFT}",
                AdoptFace(
                    group_id=group.group_id, kind=group.kind, person_key=want.key,
                    sha256=sha, path=wanted.path, persisted_face_id=face_id,
                    target_face=face.target_face, detection_model=face.detection_model,
                    user_data_digest=face.user_data_digest,
                ),
            ))
        for extra in ids:
            _delete_face(out, group, person, extra, sha, wanted.path if wanted else None)
    return person


def _delete_face(out: Collector, group: DesiredGroup, person: LockedPerson, face_id: str,
                 sha: str, wanted_path: str | None, *, reason: str = "") -> None:
    if not reason:
        reason = (f"duplicate of {wanted_path} {LEFT}" if wanted_path is not None
                  else f"image not in the manifest, {LEFT}")
    out.claimed.add(face_id)
    out.add(Address(group.group_id, person.key, face_id), Action.DELETE, FaceRef(
        group_id=group.group_id, kind=group.kind, person_key=person.key,
        person_id=person.person_id, sha256=sha, persisted_face_id=face_id,
        path=face_id, unrecorded=True,
    ), reason, before={"sha256": sha, "persistedFaceId": face_id})


def _delete_unknowable_face(out: Collector, group: DesiredGroup, person: LockedPerson,
                            face_id: str, candidates: frozenset[str]) -> None:
    """A face an answer-less add made, that several pending adds of photos sharing
    one userData may have made: recording it for the wrong photo would leave one
    photo twice and another never, so it goes and the plan adds what the lock lacks."""
    out.claimed.add(face_id)
    out.doomed.add(face_id)
    out.add(Address(group.group_id, person.key, face_id), Action.DELETE, FaceRef(
        group_id=group.group_id, kind=group.kind, person_key=person.key,
        person_id=person.person_id, sha256=min(candidates), persisted_face_id=face_id,
        path=face_id, unrecorded=True,
    ), f"face {LEFT}; it may be any of {len(candidates)} photos with its userData",
        before={"persistedFaceId": face_id})
