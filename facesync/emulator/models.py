"""The Face API's rules for groups, persons and persisted faces, without HTTP.

Every public method is one request: it validates its raw arguments in the
service's order (path, then query/body, then existence, then state), runs one
write transaction and returns rows for the handlers to serialise. Writes to one
person are serialised by a per-person lock held for the whole call (face
detection included), as the service processes a person's faces in sequence;
different persons proceed in parallel.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from facesync.emulator import errors, validation
from facesync.emulator.facepick import pick_face
from facesync.emulator.images import ImageRefused, check_size
from facesync.emulator.kinds import GroupKind
from facesync.emulator.rows import FaceRow, GroupRow, PersonRow
from facesync.emulator.store import Store, Tx
from facesync.limits import FACE_USER_DATA_MAX_CHARS, FACES_PER_PERSON_MAX, USER_DATA_MAX_CHARS

ImageSource = Callable[[], bytes]  # fetches the request's image when the rules need it


@dataclass(frozen=True)
class Quotas:
    groups: int  # of one kind, per resource
    persons_per_group: int
    persons_per_large_group: int
    persons_in_all_groups: int
    persons_in_all_large_groups: int


# The service's limits (facesync.limits); "unlimited" lifts only the rate limit,
# the S0 quotas stay.
TIER_QUOTAS = {
    "free": Quotas(1_000, 1_000, 1_000, 1_000, 1_000),
    "S0": Quotas(1_000_000, 10_000, 1_000_000, 100_000_000, 1_000_000_000),
}
TIER_QUOTAS["unlimited"] = TIER_QUOTAS["S0"]


def utc_now() -> str:
    """ISO-8601 UTC with microseconds and Z, as the service writes its date-times."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


def group_row(tx: Tx, kind: GroupKind, group_id: str) -> GroupRow:
    group = tx.group(kind.name, group_id)
    if group is None:
        raise errors.GROUP_NOT_FOUND.error(kind)
    return group


def person_row(tx: Tx, kind: GroupKind, group_id: str, person_id: str) -> PersonRow:
    person = tx.person(kind.name, group_id, person_id)
    if person is None:
        raise errors.PERSON_NOT_FOUND.error(person_id=person_id)
    return person


def refuse_while_training(tx: Tx, kind: GroupKind, group_id: str, *, group_level: bool) -> None:
    """A PersonGroup takes no writes while it trains. A LargePersonGroup keeps taking
    person and face writes (the documented buffer pattern); only training it again
    or deleting it waits."""
    training = tx.training(kind.name, group_id)
    if training is not None and training.status == "running" and (group_level or not kind.large):
        raise errors.TRAINING_NOT_FINISHED.error(kind)


class FaceService:
    """Groups, persons and persisted faces of one emulated Face resource."""

    def __init__(
        self,
        store: Store,
        tier: str,
        analyse: Callable[[bytes], Any],
        on_group_deleted: Callable[[GroupKind, str], None] | None = None,
    ) -> None:
        self.store = store
        self.quotas = TIER_QUOTAS[tier]
        self.analyse = analyse  # bytes -> vision.Scene (injected so unit tests need no dlib)
        self.person_locks = KeyedLocks()
        self._on_group_deleted = on_group_deleted  # lets the in-memory index go

    # -- groups -----------------------------------------------------------------------------
    def create_group(self, kind: GroupKind, group_id: str, body: Any) -> None:
        validation.group_id_on_create(kind, group_id)
        fields = validation.body_object(body)
        name = validation.name_on_create(validation.field(fields, "name"))
        user_data = validation.user_data(validation.field(fields, "userData"), USER_DATA_MAX_CHARS)
        model = validation.recognition_model(validation.field(fields, "recognitionModel"))
        with self.store.write() as tx:
            if tx.group(kind.name, group_id) is not None:
                raise errors.GROUP_EXISTS.error(kind)
            if tx.count_groups(kind.name) >= self.quotas.groups:
                raise errors.GROUP_QUOTA.error(kind)
            tx.insert_group(GroupRow(kind.name, group_id, name, user_data, model, utc_now()))

    def get_group(self, kind: GroupKind, group_id: str) -> GroupRow:
        validation.group_id(kind, group_id)
        with self.store.read() as tx:
            return group_row(tx, kind, group_id)

    def list_groups(self, kind: GroupKind, start: str | None, top: str | None) -> list[GroupRow]:
        after, count = validation.start(start), validation.top(top)
        with self.store.read() as tx:
            return tx.groups(kind.name, after, count)

    def update_group(self, kind: GroupKind, group_id: str, body: Any) -> None:
        validation.group_id(kind, group_id)
        name, user_data = self._update_fields(kind, body, USER_DATA_MAX_CHARS)
        with self.store.write() as tx:
            group = group_row(tx, kind, group_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            tx.update_group(
                replace(
                    group,
                    name=group.name if name is None else name,
                    user_data=group.user_data if user_data is None else user_data,
                )
            )

    def delete_group(self, kind: GroupKind, group_id: str) -> None:
        validation.group_id(kind, group_id)
        with self.store.write() as tx:
            group_row(tx, kind, group_id)
            refuse_while_training(tx, kind, group_id, group_level=True)
            trained = tx.snapshot_training_id(kind.name, group_id)
            tx.delete_group(kind.name, group_id)
        if trained is not None:
            self.store.snapshots.remove([trained])
        if self._on_group_deleted is not None:
            self._on_group_deleted(kind, group_id)

    def _update_fields(
        self, kind: GroupKind, body: Any, user_data_limit: int
    ) -> tuple[str | None, str | None]:
        """PATCH fields: absent ones stay unchanged; a LargePersonGroup refuses a PATCH
        that changes nothing (the error reference lists it for large groups only)."""
        fields = validation.body_object(body)
        raw_name = validation.field(fields, "name")
        raw_user_data = validation.field(fields, "userData")
        if kind.large and raw_name is validation.ABSENT and raw_user_data is validation.ABSENT:
            raise errors.NAME_AND_USER_DATA_EMPTY.error()
        name = None if raw_name is validation.ABSENT else validation.name(raw_name)
        return name, validation.user_data(raw_user_data, user_data_limit)

    # -- persons ----------------------------------------------------------------------------
    def create_person(self, kind: GroupKind, group_id: str, body: Any) -> str:
        validation.group_id(kind, group_id)
        fields = validation.body_object(body)
        name = validation.name_on_create(validation.field(fields, "name"))
        user_data = validation.user_data(validation.field(fields, "userData"), USER_DATA_MAX_CHARS)
        person_id = str(uuid.uuid4())
        with self.store.write() as tx:
            group_row(tx, kind, group_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            self._check_person_quota(tx, kind, group_id)
            tx.insert_person(PersonRow(person_id, kind.name, group_id, name, user_data))
        return person_id

    def _check_person_quota(self, tx: Tx, kind: GroupKind, group_id: str) -> None:
        quotas = self.quotas
        per_group = quotas.persons_per_large_group if kind.large else quotas.persons_per_group
        if tx.count_persons(kind.name, group_id) >= per_group:
            raise errors.PERSON_GROUP_LEVEL_QUOTA.error(kind)
        in_all = quotas.persons_in_all_large_groups if kind.large else quotas.persons_in_all_groups
        if in_all < 10_000_000 and tx.count_persons(kind.name) >= in_all:
            raise errors.PERSON_SUBSCRIPTION_QUOTA.error(kind)

    def get_person(
        self, kind: GroupKind, group_id: str, person_id: str
    ) -> tuple[PersonRow, list[str]]:
        validation.group_id(kind, group_id)
        person_id = validation.person_id(person_id)
        with self.store.read() as tx:
            group_row(tx, kind, group_id)
            person = person_row(tx, kind, group_id, person_id)
            return person, tx.face_ids([person_id])[person_id]

    def list_persons(
        self, kind: GroupKind, group_id: str, start: str | None, top: str | None
    ) -> list[tuple[PersonRow, list[str]]]:
        validation.group_id(kind, group_id)
        after, count = validation.start(start), validation.top(top)
        after = validation.guid(after) or after  # person ids compare in canonical lowercase
        with self.store.read() as tx:
            group_row(tx, kind, group_id)
            persons = tx.persons(kind.name, group_id, after, count)
            faces = tx.face_ids([person.person_id for person in persons])
        return [(person, faces[person.person_id]) for person in persons]

    def update_person(self, kind: GroupKind, group_id: str, person_id: str, body: Any) -> None:
        validation.group_id(kind, group_id)
        person_id = validation.person_id(person_id)
        name, user_data = self._update_fields(kind, body, USER_DATA_MAX_CHARS)
        with self.person_locks.hold(person_id), self.store.write() as tx:
            group_row(tx, kind, group_id)
            person = person_row(tx, kind, group_id, person_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            tx.update_person(
                replace(
                    person,
                    name=person.name if name is None else name,
                    user_data=person.user_data if user_data is None else user_data,
                )
            )

    def delete_person(self, kind: GroupKind, group_id: str, person_id: str) -> None:
        validation.group_id(kind, group_id)
        person_id = validation.person_id(person_id)
        with self.person_locks.hold(person_id), self.store.write() as tx:
            group_row(tx, kind, group_id)
            person_row(tx, kind, group_id, person_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            tx.delete_person(person_id)

    # -- persisted faces --------------------------------------------------------------------
    def add_face(
        self,
        kind: GroupKind,
        group_id: str,
        person_id: str,
        image: ImageSource,
        query: Mapping[str, str],
    ) -> str:
        validation.group_id(kind, group_id)
        person_id = validation.person_id(person_id)
        user_data = validation.user_data(
            query.get("userData", validation.ABSENT), FACE_USER_DATA_MAX_CHARS
        )
        target = validation.target_face(query.get("targetFace"))
        detection_model = validation.detection_model(query.get("detectionModel"))
        with self.person_locks.hold(person_id):
            with self.store.read() as tx:
                self._check_face_writable(tx, kind, group_id, person_id)
            data = image()
            try:
                check_size(data)
                scene = self.analyse(data)
                index = pick_face(scene, target)
            except ImageRefused as problem:
                raise problem.spec.error() from None
            box = scene.boxes[index]
            embedding = scene.embedding(index)
            face = FaceRow(
                str(uuid.uuid4()), person_id, kind.name, group_id, user_data, *box.rectangle,
                detection_model, hashlib.sha256(data).hexdigest(),
                embedding.astype("<f4").tobytes(),
            )  # fmt: skip
            with self.store.write() as tx:
                self._check_face_writable(tx, kind, group_id, person_id)
                tx.insert_face(face)
        return face.face_id

    def _check_face_writable(self, tx: Tx, kind: GroupKind, group_id: str, person_id: str) -> None:
        group_row(tx, kind, group_id)
        person_row(tx, kind, group_id, person_id)
        refuse_while_training(tx, kind, group_id, group_level=False)
        if tx.count_faces(person_id) >= FACES_PER_PERSON_MAX:
            raise errors.FACE_QUOTA.error()

    def get_face(self, kind: GroupKind, group_id: str, person_id: str, face_id: str) -> FaceRow:
        person_id, face_id = _face_path(kind, group_id, person_id, face_id)
        with self.store.read() as tx:
            return _face_row(tx, kind, group_id, person_id, face_id)

    def update_face(
        self, kind: GroupKind, group_id: str, person_id: str, face_id: str, body: Any
    ) -> None:
        person_id, face_id = _face_path(kind, group_id, person_id, face_id)
        fields = validation.body_object(body)
        user_data = validation.user_data(
            validation.field(fields, "userData"), FACE_USER_DATA_MAX_CHARS
        )
        with self.person_locks.hold(person_id), self.store.write() as tx:
            _face_row(tx, kind, group_id, person_id, face_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            if user_data is not None:
                tx.update_face(face_id, user_data)

    def delete_face(self, kind: GroupKind, group_id: str, person_id: str, face_id: str) -> None:
        person_id, face_id = _face_path(kind, group_id, person_id, face_id)
        with self.person_locks.hold(person_id), self.store.write() as tx:
            _face_row(tx, kind, group_id, person_id, face_id)
            refuse_while_training(tx, kind, group_id, group_level=False)
            tx.delete_face(face_id)


def _face_path(kind: GroupKind, group_id: str, person_id: str, face_id: str) -> tuple[str, str]:
    """Check the ids of a face's path in the service's order; return the GUIDs."""
    validation.group_id(kind, group_id)
    return validation.person_id(person_id), validation.persisted_face_id(face_id)


def _face_row(tx: Tx, kind: GroupKind, group_id: str, person_id: str, face_id: str) -> FaceRow:
    group_row(tx, kind, group_id)
    person_row(tx, kind, group_id, person_id)
    face = tx.face(person_id, face_id)
    if face is None:
        raise errors.PERSISTED_FACE_NOT_FOUND.error(face_id=face_id)
    return face
