"""One plan change turned into Face API calls, with its checkpoint.

Every successful server mutation is followed at once by `checkpoint(change,
result)`, before anything else can fail, so the lock never misses an id.
Every call that creates something without an idempotency key (group PUT,
person POST, face POST) is preceded by a journal intent, resolved once the
answer is clear (facesync.state.journal), so that a lost answer can be
recognised later instead of repeated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from facesync.backends.base import FaceBackend, TrainingInfo
from facesync.backends.service_errors import (
    is_busy,
    is_face_quota,
    is_not_found,
    may_have_happened,
)
from facesync.digest import bytes_key, image_key, text_digest
from facesync.engine.outcomes import Deferred, HalfReplaced
from facesync.engine.record import CallResult
from facesync.errors import ApiError, FacesyncError, PlanError
from facesync.image_fit import Sendable, to_send
from facesync.manifest.hash_cache import forget_entries
from facesync.plan.model import Action, Change, ResourceType
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
)
from facesync.state.journal import (
    ADD_FACE,
    CREATE_GROUP,
    CREATE_PERSON,
    RETIRE_FACE,
    Intent,
    Journal,
    user_data_digest,
)

T = TypeVar("T")

# Waits (s) after a 409 "group is training" / "conflicting operation": the
# request was refused, so repeating it is safe even for a POST.
CONFLICT_WAITS = (1.0, 2.0, 4.0, 8.0, 15.0)


class CheckpointFailed(Exception):
    """The lock could not record a mutation: the apply must stop at once."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass(frozen=True)
class Outcome:
    detail: str  # "created (personId ...)", shown in progress lines
    training: TrainingInfo | None = None


@dataclass
class Context:
    """What every worker shares during one apply."""

    backend: FaceBackend
    checkpoint: Callable[[Change, CallResult], None]
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    stop: threading.Event
    wait: bool = True
    training_timeout: float = 600.0
    person_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    mutex: threading.Lock = field(default_factory=threading.Lock)  # guards person_ids, blurred
    journal: Journal | None = None
    # Creates alike (facesync.state.journal: what tells their results apart) whose
    # answer was lost in this pass: another one alike waits for the next pass.
    blurred: set[tuple[str | None, ...]] = field(default_factory=set)

    def save(self, change: Change, result: CallResult) -> None:
        try:
            self.checkpoint(change, result)
        except BaseException as exc:
            raise CheckpointFailed(exc) from exc

    @contextmanager
    def intent(self, intent: Intent, address: str = "") -> Iterator[None]:
        """Journal `intent` before the block's call and resolve it once the answer
        is clear: a success (recorded in the lock first) or a plain refusal. A
        call that may have worked leaves it pending for the next plan to judge;
        until that plan, a call alike is deferred (`Deferred`), so that no two
        pending intents of one pass could have made the same object."""
        if self.journal is None:
            yield
            return
        alike = _alike(intent)
        with self.mutex:
            if alike in self.blurred:
                raise Deferred(
                    f"{address}: not sent in this pass: a create like it (same person, same "
                    "userData) lost its answer; run facesync apply again to send it"
                )
        try:
            self.journal.intend(intent)
        except (OSError, FacesyncError) as exc:  # no durable intent, no call
            raise CheckpointFailed(exc) from exc
        try:
            yield
        except ApiError as exc:
            if not may_have_happened(exc):
                self._resolve(intent)
            else:
                with self.mutex:
                    self.blurred.add(alike)
            raise
        self._resolve(intent)

    def intend(self, intent: Intent) -> None:
        """Journal an intent that no single call resolves (a replacement's retire)."""
        if self.journal is None:
            return
        try:
            self.journal.intend(intent)
        except (OSError, FacesyncError) as exc:  # no durable intent, no call
            raise CheckpointFailed(exc) from exc

    def resolve(self, intent: Intent) -> None:
        if self.journal is not None:
            self._resolve(intent)

    def _resolve(self, intent: Intent) -> None:
        # An unresolved intent only proves what the lock already records.
        with suppress(OSError, FacesyncError):
            self.journal.resolve(intent)  # type: ignore[union-attr]

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(...)`, repeated after a short wait while the group is busy (409)."""
        for wait in (*CONFLICT_WAITS, None):
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                if wait is None or not is_busy(exc) or self.stop.is_set():
                    raise
                self.sleep(wait)
                if self.stop.is_set():
                    raise
        raise AssertionError("unreachable")

    def delete(self, fn: Callable[..., None], *args: Any) -> None:
        """A delete; what is already gone counts as deleted (a retried DELETE
        that had worked the first time answers 404)."""
        try:
            self.call(fn, *args)
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def _alike(intent: Intent) -> tuple[str | None, ...]:
    """What an answer-less create's result is told apart by: two creates that agree
    on it could each have made the same object (facesync.state.journal.face_images)."""
    subject = intent.person_id if intent.op == ADD_FACE else intent.name_digest
    return (intent.op, intent.group, intent.kind, subject, intent.user_data_digest)


def run_change(change: Change, ctx: Context) -> Outcome:
    """Make a group, person or face change on the server; raise FacesyncError
    when it fails (training is `facesync.engine.training`)."""
    kind = change.address.type
    if kind is ResourceType.GROUP:
        return _GROUP[change.action](change, ctx)
    if kind is ResourceType.PERSON:
        return _PERSON[change.action](change, ctx)
    return _FACE[change.action](change, ctx)


# --- groups -------------------------------------------------------------------------


def _create_group(change: Change, ctx: Context) -> Outcome:
    spec, api = change.payload_as(GroupSpec), ctx.backend
    if change.action is Action.REPLACE:
        ctx.delete(api.delete_group, spec.old_kind or spec.kind, spec.group_id)
    with ctx.intent(Intent(CREATE_GROUP, spec.group_id, spec.kind)):
        ctx.call(
            api.create_group,
            spec.kind,
            spec.group_id,
            spec.name,
            spec.user_data,
            spec.recognition_model,
        )
        ctx.save(change, CallResult())
    return Outcome("replaced" if change.action is Action.REPLACE else "created")


def _update_group(change: Change, ctx: Context) -> Outcome:
    update = change.payload_as(GroupUpdate)
    if update.name is not None or update.user_data is not None:
        ctx.call(
            ctx.backend.update_group, update.kind, update.group_id, update.name, update.user_data
        )
    ctx.save(change, CallResult())
    return Outcome("updated")


def _delete_group(change: Change, ctx: Context) -> Outcome:
    ref = change.payload_as(GroupRef)
    ctx.delete(ctx.backend.delete_group, ref.kind, ref.group_id)
    ctx.save(change, CallResult())
    return Outcome("deleted")


# --- persons ----------------------------------------------------------------------------


def _create_person(change: Change, ctx: Context) -> Outcome:
    spec, api = change.payload_as(PersonSpec), ctx.backend
    if change.action is Action.REPLACE and spec.person_id:
        ctx.delete(api.delete_person, spec.kind, spec.group_id, spec.person_id)
    intent = Intent(
        CREATE_PERSON, spec.group_id, spec.kind, person=spec.person_key,
        name_digest=text_digest(spec.name), user_data_digest=user_data_digest(spec.user_data),
        preexisting=frozenset(spec.preexisting),
    )
    with ctx.intent(intent, str(change.address)):
        person_id = ctx.call(
            api.create_person, spec.kind, spec.group_id, spec.name, spec.user_data
        )
        with ctx.mutex:
            ctx.person_ids[(spec.group_id, spec.person_key)] = person_id
        ctx.save(change, CallResult(person_id=person_id))
    return Outcome(f"created (personId {person_id})")


def _update_person(change: Change, ctx: Context) -> Outcome:
    update = change.payload_as(PersonUpdate)
    if update.name is not None or update.user_data is not None:
        ctx.call(
            ctx.backend.update_person,
            update.kind,
            update.group_id,
            update.person_id,
            update.name,
            update.user_data,
        )
    ctx.save(change, CallResult())
    return Outcome("updated")


def _delete_person(change: Change, ctx: Context) -> Outcome:
    ref = change.payload_as(PersonRef)
    ctx.delete(ctx.backend.delete_person, ref.kind, ref.group_id, ref.person_id)
    ctx.save(change, CallResult())
    return Outcome("deleted")


# --- faces --------------------------------------------------------------------------------


def _add_face(change: Change, ctx: Context) -> Outcome:
    """Add a face; a replacement adds the new face first and deletes the old one
    only once the add worked, so a failing add (no face in the new box or bytes)
    leaves the person its working face, on the server and in the lock. A person
    already at the service's 248 faces is the exception: there the old face
    must go first to make room."""
    spec = change.payload_as(FaceSpec)
    person_id = _person_id(change, spec, ctx)
    image = to_send(read_image(change))  # a photo above the limits: a downscaled copy
    old = spec.old_persisted_face_id if change.action is Action.REPLACE else None
    if not old:
        face_id = _send_face(change, spec, person_id, image, ctx)
        return Outcome(f"added (persistedFaceId {face_id})")
    retire = Intent(
        RETIRE_FACE, spec.group_id, spec.kind, person=spec.person_key, person_id=person_id,
        sha256=spec.old_sha256, face_id=old,
    )
    ctx.intend(retire)  # durable before the add: once the lock records only the new
    try:                # face, this proves the old one facesync's to delete
        face_id = _send_face(change, spec, person_id, image, ctx)
    except ApiError as exc:
        if not is_face_quota(exc):
            if not may_have_happened(exc):
                ctx.resolve(retire)  # refused: the old face stays, recorded
            raise
        # 248 faces already: make room first (the one case a failed add loses the old face)
        ctx.delete(ctx.backend.delete_face, spec.kind, spec.group_id, person_id, old)
        ctx.save(change, CallResult())  # the old face is gone: the lock forgets it now
        ctx.resolve(retire)
        try:
            face_id = _send_face(change, spec, person_id, image, ctx)
        except ApiError as second:
            raise HalfReplaced(
                f"{change.address}: deleted the old face ({old}) to make room (the person "
                f"was at the service's limit of 248 faces), but adding the new one failed: "
                f"{second}", change, second, added=False,
            ) from second
        return Outcome(f"replaced (persistedFaceId {face_id}, the old face deleted first: "
                       "the person was at the service's limit of 248 faces)")
    try:
        ctx.delete(ctx.backend.delete_face, spec.kind, spec.group_id, person_id, old)
    except ApiError as exc:
        raise HalfReplaced(
            f"{change.address}: added the new face (persistedFaceId {face_id}) but could not "
            f"delete the old one ({old}): {exc}; run facesync apply again to delete it",
            change, exc,
        ) from exc
    ctx.resolve(retire)
    return Outcome(f"replaced (persistedFaceId {face_id})")


def _send_face(change: Change, spec: FaceSpec, person_id: str, image: Sendable,
               ctx: Context) -> str:
    """The add-face call under its journal intent, recorded at once. A downscaled
    copy gets the manifest's targetFace mapped onto its own pixel grid."""
    intent = Intent(
        ADD_FACE, spec.group_id, spec.kind, person=spec.person_key, person_id=person_id,
        sha256=spec.sha256, user_data_digest=user_data_digest(spec.user_data),
        preexisting=frozenset(spec.preexisting),
    )
    with ctx.intent(intent, str(change.address)):
        face_id = ctx.call(
            ctx.backend.add_face,
            spec.kind,
            spec.group_id,
            person_id,
            image.data,
            user_data=spec.user_data,
            target_face=image.target_face(spec.target_face),
            detection_model=spec.detection_model,
        )
        ctx.save(change, CallResult(persisted_face_id=face_id))
    return face_id


def _update_face(change: Change, ctx: Context) -> Outcome:
    update = change.payload_as(FaceUpdate)
    ctx.call(
        ctx.backend.update_face,
        update.kind,
        update.group_id,
        update.person_id,
        update.persisted_face_id,
        update.user_data,
    )
    ctx.save(change, CallResult())
    return Outcome("updated")


def _delete_face(change: Change, ctx: Context) -> Outcome:
    ref = change.payload_as(FaceRef)
    ctx.delete(
        ctx.backend.delete_face, ref.kind, ref.group_id, ref.person_id, ref.persisted_face_id
    )
    ctx.save(change, CallResult())
    return Outcome("deleted")


def read_image(change: Change) -> bytes:
    """The face's bytes, refused if they are not the bytes the plan saw."""
    spec = change.payload_as(FaceSpec)
    path = Path(spec.abs_path)
    try:
        image = path.read_bytes()
    except OSError as exc:
        raise FacesyncError(
            f"{change.address}: cannot read {spec.path}: {exc.strerror or exc}; "
            "restore the file or plan again"
        ) from None
    if bytes_key(image) != image_key(spec.sha256):
        _forget_cached_hash(path, spec.path)  # so that planning again reads the new bytes
        raise PlanError(
            f"{change.address}: {spec.path} changed since the plan was made; "
            "run facesync plan again"
        )
    return image


def _forget_cached_hash(abs_path: Path, rel_path: str) -> None:
    """Drop the photo's hash cache entry (best effort): on a file system whose
    ctime does not move on a write, its stat alone would keep the old hash."""
    parts = Path(rel_path).parts
    if ".." in parts or Path(rel_path).is_absolute():
        return  # outside the manifest's folder (--allow-outside): not cached by path
    folder = abs_path
    for _ in parts:
        folder = folder.parent
    with suppress(OSError):
        forget_entries(folder, [rel_path])


def _person_id(change: Change, spec: FaceSpec, ctx: Context) -> str:
    """The person's id: the plan's, or the one its create got earlier in this apply."""
    person_id = spec.person_id
    if not person_id:
        with ctx.mutex:
            person_id = ctx.person_ids.get((spec.group_id, spec.person_key))
    if not person_id:
        raise PlanError(f"{change.address}: the plan does not say which person to add it to")
    return person_id


_GROUP = {
    Action.CREATE: _create_group,
    Action.REPLACE: _create_group,
    Action.UPDATE: _update_group,
    Action.DELETE: _delete_group,
}
_PERSON = {
    Action.CREATE: _create_person,
    Action.REPLACE: _create_person,
    Action.UPDATE: _update_person,
    Action.DELETE: _delete_person,
}
_FACE = {
    Action.CREATE: _add_face,
    Action.REPLACE: _add_face,
    Action.UPDATE: _update_face,
    Action.DELETE: _delete_face,
}
