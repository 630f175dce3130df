"""What the server holds now, read with list calls (docs/lock-and-plan.md: refresh).

Per group facesync manages or the manifest names: one group GET, one training
status GET and the person list (1,000 persons per page, each with its
persistedFaceIds). Plus one listing per group kind to find groups the lock
does not know. No call per face: the cost grows with persons/1000.

The one exception is recovery (docs/recovery.md): a face the lock does not
know on a managed person, and every face of a person facesync may adopt, is
read with one GET for its userData (the ownership marker). After a clean
apply there are none, so a normal refresh costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from facesync.backends.base import FaceBackend, PersonInfo
from facesync.backends.service_errors import is_group_not_found, is_not_found, is_not_trained
from facesync.bulk import building
from facesync.errors import ApiError
from facesync.limits import SERVICE_DEFAULT_RECOGNITION_MODEL
from facesync.manifest.model import LARGE_PERSON_GROUP, PERSON_GROUP, Manifest
from facesync.state.journal import Intent, claimed_person_key, intends_group
from facesync.state.model import LockState, ObservedGroup, ObservedPerson, ObservedState

KINDS = (LARGE_PERSON_GROUP, PERSON_GROUP)


def refresh(
    backend: FaceBackend, manifest: Manifest, lock: LockState, *, intents: Sequence[Intent] = ()
) -> ObservedState:
    """The observed state of every group in the lock or the manifest; `intents`
    (the journal's pending ones) name more persons whose faces to read."""
    wanted: dict[str, str] = {g.group_id: g.kind for g in manifest.groups}
    # The lock's kind wins: it names the group that exists (a kind change in the
    # manifest is a replacement the diff plans from what is observed here).
    kinds = {**wanted, **{g.group_id: g.kind for g in lock.groups}}
    groups = []
    for group_id, kind in sorted(kinds.items()):
        observed = refresh_group(backend, kind, group_id)
        new_kind = wanted.get(group_id, kind)
        if observed is None and new_kind != kind and intends_group(new_kind, group_id, intents):
            # a kind change killed after its create: the journal claims the new group
            observed = refresh_group(backend, new_kind, group_id)
        if observed is not None:
            groups.append(observed)
    managed = {(g.kind, g.group_id) for g in lock.groups}
    others = sorted(
        (kind, info.group_id)
        for kind in KINDS
        for info in backend.list_groups(kind)
        if (kind, info.group_id) not in managed
    )
    faces = sorted((
        read
        for group in groups
        for read in _read_faces(backend, group, manifest, lock, intents)
    ), key=lambda read: read[0])
    return ObservedState(
        groups=tuple(groups), other_group_ids=tuple(others), faces_read=tuple(faces)
    )


def _read_faces(
    backend: FaceBackend, group: ObservedGroup, manifest: Manifest, lock: LockState,
    intents: Sequence[Intent],
) -> Iterator[tuple[str, str | None]]:
    """(faceId, userData) of every face of `group` that adoption needs to judge."""
    for person_id, face_id in _faces_to_read(group, manifest, lock, intents):
        try:
            info = backend.get_face(group.kind, group.group_id, person_id, face_id)
        except ApiError as exc:
            if is_not_found(exc):
                continue  # deleted while we looked: nothing to judge
            raise
        yield face_id, info.user_data


def _faces_to_read(
    group: ObservedGroup, manifest: Manifest, lock: LockState, intents: Sequence[Intent]
) -> list[tuple[str, str]]:
    """Faces the lock does not know on recorded persons, and all faces of an
    unrecorded person that is facesync's and that the manifest still wants."""
    locked = lock.group(group.group_id)
    recorded = {p.person_id: p for p in locked.persons} if locked is not None else {}
    desired = manifest.group(group.group_id)
    wanted = {p.key for p in desired.persons} if desired and desired.kind == group.kind else set()
    live = {p.person_id for p in group.persons}
    live_keys = {p.key for p in recorded.values() if p.person_id in live}
    out: list[tuple[str, str]] = []
    for person in group.persons:
        have = recorded.get(person.person_id)
        if have is not None:
            known = {f.persisted_face_id for f in have.faces}
            out += [(person.person_id, f) for f in person.persisted_face_ids if f not in known]
            continue
        key = claimed_person_key(group.kind, group.group_id, person, intents)
        if key is not None and key in wanted and key not in live_keys:
            out += [(person.person_id, f) for f in person.persisted_face_ids]
    return out


def refresh_group(backend: FaceBackend, kind: str, group_id: str) -> ObservedGroup | None:
    """One group in full, or None when the server does not have it."""
    try:
        info = backend.get_group(kind, group_id)
        status = _training_status(backend, kind, group_id)
        with building():  # 1,000,000 persons at most (facesync.bulk)
            persons = backend.list_persons(kind, group_id)
    except ApiError as exc:
        if is_group_not_found(exc):
            return None  # absent, or deleted while we looked
        raise
    return ObservedGroup(
        group_id=group_id,
        kind=kind,
        name=info.name,
        user_data=info.user_data,
        recognition_model=info.recognition_model or SERVICE_DEFAULT_RECOGNITION_MODEL,
        training_status=status,
        persons=tuple(sorted((_person(p) for p in persons), key=lambda p: p.person_id)),
    )


def _training_status(backend: FaceBackend, kind: str, group_id: str) -> str | None:
    try:
        return backend.get_training_status(kind, group_id).status
    except ApiError as exc:
        if is_not_trained(exc):
            return None
        raise


def _person(p: PersonInfo) -> ObservedPerson:
    return ObservedPerson(p.person_id, p.name, p.user_data, tuple(p.persisted_face_ids))
