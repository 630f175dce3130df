"""What the server holds now, read with list calls (SPEC §5, issue: refresh cost).

Per group facesync manages or the manifest names: one group GET, one training
status GET and the person list (1,000 persons per page, each with its
persistedFaceIds). Plus one listing per group kind to find groups the lock
does not know. No call per face: the cost grows with persons/1000.
"""

from __future__ import annotations

from facesync.backends.base import FaceBackend, PersonInfo
from facesync.errors import ApiError
from facesync.manifest.model import LARGE_PERSON_GROUP, PERSON_GROUP, Manifest
from facesync.state.model import LockState, ObservedGroup, ObservedPerson, ObservedState

KINDS = (LARGE_PERSON_GROUP, PERSON_GROUP)
SERVICE_DEFAULT_RECOGNITION_MODEL = "recognition_01"  # what a group without one uses


def refresh(backend: FaceBackend, manifest: Manifest, lock: LockState) -> ObservedState:
    """The observed state of every group in the lock or the manifest."""
    kinds: dict[str, str] = {g.group_id: g.kind for g in manifest.groups}
    # The lock's kind wins: it names the group that exists (a kind change in the
    # manifest is a replacement the diff plans from what is observed here).
    kinds.update({g.group_id: g.kind for g in lock.groups})
    groups = []
    for group_id, kind in sorted(kinds.items()):
        observed = refresh_group(backend, kind, group_id)
        if observed is not None:
            groups.append(observed)
    managed = {(g.kind, g.group_id) for g in lock.groups}
    others = sorted(
        (kind, info.group_id)
        for kind in KINDS
        for info in backend.list_groups(kind)
        if (kind, info.group_id) not in managed
    )
    return ObservedState(groups=tuple(groups), other_group_ids=tuple(others))


def refresh_group(backend: FaceBackend, kind: str, group_id: str) -> ObservedGroup | None:
    """One group in full, or None when the server does not have it."""
    try:
        info = backend.get_group(kind, group_id)
        status = _training_status(backend, kind, group_id)
        persons = backend.list_persons(kind, group_id)
    except ApiError as exc:
        if _group_missing(exc):
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
        if exc.status == 404 and exc.code.endswith("NotTrained"):
            return None
        raise


def _group_missing(exc: ApiError) -> bool:
    return exc.status == 404 and exc.code.endswith("GroupNotFound")


def _person(p: PersonInfo) -> ObservedPerson:
    return ObservedPerson(p.person_id, p.name, p.user_data, tuple(p.persisted_face_ids))
