"""An in-memory FaceBackend for unit tests, honouring the service's main rules.

Rules kept (as the emulator keeps them): caller-chosen group ids with their regex and a
409 on a second create; service-made lowercase GUIDs for persons and faces;
404s with the kind-specific codes; names and userData limits; 1 KB .. 6 MB
images; 248 faces per person; training that goes running -> succeeded (or
failed for a group without persons) as it is polled, with 409 for writes while
it runs; lists sorted by id and paged by `start`/`top`.

Test hooks: `calls` (every operation, in order), `calls_made` (requests a real
client would send, pages included), `inject()` to fail an operation (before or
after it takes effect), `lose_answers()` to make a change and then fail as a
dropped connection does, `flaky()` to do either at random, `rendezvous()` to
prove calls overlap, `delay` to widen the window in which overlapping calls
would be seen, and the in-flight high-water marks `max_in_flight` and
`max_in_flight_per_person`.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from facesync.backends.base import (
    Candidate,
    DetectedFace,
    FaceInfo,
    GroupInfo,
    IdentifyResult,
    PersonInfo,
    TrainingInfo,
)
from facesync.errors import ApiError, ApiUnreachableError
from facesync.limits import (
    DETECTION_MODELS,
    FACE_USER_DATA_MAX_CHARS,
    FACES_PER_PERSON_MAX,
    GROUP_ID_RE,
    IMAGE_MAX_BYTES,
    IMAGE_MIN_BYTES,
    NAME_MAX_CHARS,
    RECOGNITION_MODELS,
    USER_DATA_MAX_CHARS,
)
from facesync.text_rules import too_long
from tests.lock_reading import image_key

KINDS = ("personGroup", "largePersonGroup")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIMESTAMP = "2024-01-01T00:00:00.000Z"


@dataclass
class FakeFace:
    face_id: str
    sha256: str
    user_data: str | None
    detection_model: str | None
    target_face: tuple[int, int, int, int] | None


@dataclass
class FakePerson:
    person_id: str
    name: str
    user_data: str | None
    faces: dict[str, FakeFace] = field(default_factory=dict)  # in the order added


@dataclass
class FakeGroup:
    kind: str
    group_id: str
    name: str
    user_data: str | None
    recognition_model: str
    persons: dict[str, FakePerson] = field(default_factory=dict)
    training: str | None = None  # None (never trained), running, succeeded, failed
    polls_left: int = 0
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sha256 -> person ids


@dataclass(frozen=True)
class Call:
    operation: str
    args: dict[str, Any]


@dataclass
class _Injection:
    operation: str
    error: ApiError
    times: int
    match: dict[str, Any]
    after: bool


class FakeBackend:
    """Thread-safe in-memory Face API; see the module docstring for its rules."""

    def __init__(
        self,
        *,
        page_size: int = 1000,
        training_polls: int = 1,
        check_images: bool = True,
        delay: float = 0.0,
    ) -> None:
        self.page_size = page_size
        self.training_polls = training_polls  # polls answered "running" before the outcome
        self.check_images = check_images
        self.delay = delay
        self.groups: dict[tuple[str, str], FakeGroup] = {}
        self.calls: list[Call] = []
        self.calls_made = 0
        self.max_in_flight = 0
        self.max_in_flight_per_person = 0
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._detected: dict[str, str] = {}  # faceId -> sha256
        self._injections: list[_Injection] = []
        self._barriers: dict[str, list[Any]] = {}  # operation -> [barrier, callers left]
        self._in_flight = 0
        self._per_person: dict[str, int] = {}
        self._flaky: tuple[float, random.Random, tuple[str, ...]] | None = None
        self.faults = 0  # failures flaky() injected

    # --- test hooks -------------------------------------------------------------

    def inject(
        self,
        operation: str,
        error: ApiError | None = None,
        *,
        times: int = 1,
        after: bool = False,
        **match: Any,
    ) -> None:
        """Fail the next `times` calls of `operation` whose arguments match.

        `after=True` makes the change first and then fails (a lost answer)."""
        error = error or ApiError(500, "InternalServerError", "injected failure")
        self._injections.append(_Injection(operation, error, times, match, after))

    def lose_answers(self, operation: str, *, times: int = 1, **match: Any) -> None:
        """Make the next `times` matching changes, then fail as a connection dropped
        after sending does: the caller cannot tell whether the change was made."""
        self.inject(operation, lost_answer(operation), times=times, after=True, **match)

    def flaky(
        self,
        rate: float,
        seed: int,
        operations: tuple[str, ...] = ("create_group", "create_person", "add_face"),
    ) -> None:
        """From now on, each call of `operations` fails with probability `rate`:
        half of those after the change was made (a lost answer), half before (a
        500 that changed nothing). Reproducible with `seed`."""
        self._flaky = (rate, random.Random(seed), operations)

    def rendezvous(self, operation: str, parties: int, timeout: float = 5.0) -> None:
        """The first `parties` calls of `operation` wait for each other (or break)."""
        self._barriers[operation] = [threading.Barrier(parties, timeout=timeout), parties]

    def operations(self, *names: str) -> list[Call]:
        return [c for c in self.calls if not names or c.operation in names]

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.calls_made = 0
            self.max_in_flight = self.max_in_flight_per_person = 0

    def group(self, group_id: str, kind: str = "personGroup") -> FakeGroup:
        return self.groups[(kind, group_id)]

    def snapshot(self) -> dict[str, Any]:
        """The whole server as plain sorted data, for equality assertions."""
        with self._lock:
            return {
                f"{kind}:{gid}": {
                    "name": g.name,
                    "userData": g.user_data,
                    "recognitionModel": g.recognition_model,
                    "persons": {
                        p.name: sorted(f.sha256 for f in p.faces.values())
                        for p in sorted(g.persons.values(), key=lambda p: p.person_id)
                    },
                }
                for (kind, gid), g in sorted(self.groups.items())
            }

    # --- groups -------------------------------------------------------------------

    def create_group(
        self, kind: str, group_id: str, name: str, user_data: str | None, recognition_model: str
    ) -> None:
        with self._op("create_group", kind=kind, group_id=group_id):
            if not GROUP_ID_RE.fullmatch(group_id or ""):
                raise _bad("Person group ID is invalid.")
            _check_name(name)
            _check_user_data(user_data, USER_DATA_MAX_CHARS)
            if recognition_model not in RECOGNITION_MODELS:
                raise _bad("'recognitionModel' is invalid.")
            if (kind, group_id) in self.groups:
                raise ApiError(409, _code(kind, "Exists"), "Person group already exists.")
            self.groups[(kind, group_id)] = FakeGroup(
                kind, group_id, name, user_data, recognition_model
            )

    def get_group(self, kind: str, group_id: str) -> GroupInfo:
        with self._op("get_group", kind=kind, group_id=group_id):
            g = self._group(kind, group_id)
            return GroupInfo(g.group_id, g.name, g.user_data, g.recognition_model)

    def list_groups(self, kind: str) -> list[GroupInfo]:
        with self._op("list_groups", kind=kind):
            _kind(kind)
            groups = [g for (k, _), g in sorted(self.groups.items()) if k == kind]
            self._count_pages(len(groups))
            return [GroupInfo(g.group_id, g.name, g.user_data, g.recognition_model) for g in groups]

    def update_group(
        self, kind: str, group_id: str, name: str | None, user_data: str | None
    ) -> None:
        with self._op("update_group", kind=kind, group_id=group_id):
            g = self._group(kind, group_id)
            if name is None and user_data is None and kind == "largePersonGroup":
                raise _bad("Both 'name' and 'userData' are empty.")
            if name is not None:
                _check_name(name)
            _check_user_data(user_data, USER_DATA_MAX_CHARS)
            g.name = name if name is not None else g.name
            g.user_data = user_data if user_data is not None else g.user_data

    def delete_group(self, kind: str, group_id: str) -> None:
        with self._op("delete_group", kind=kind, group_id=group_id):
            self._writable(self._group(kind, group_id))
            del self.groups[(kind, group_id)]

    def train_group(self, kind: str, group_id: str) -> None:
        with self._op("train_group", kind=kind, group_id=group_id):
            g = self._writable(self._group(kind, group_id))
            g.training, g.polls_left = "running", self.training_polls
            if self.training_polls == 0:
                self._finish_training(g)

    def get_training_status(self, kind: str, group_id: str) -> TrainingInfo:
        with self._op("get_training_status", kind=kind, group_id=group_id):
            g = self._group(kind, group_id)
            if g.training is None:
                raise ApiError(404, _code(kind, "NotTrained"), "Person group not trained.")
            if g.training == "running":
                if g.polls_left > 0:
                    g.polls_left -= 1
                else:
                    self._finish_training(g)
            message = "There is no person in the group." if g.training == "failed" else None
            return TrainingInfo(g.training, _TIMESTAMP, _TIMESTAMP, None, message)

    # --- persons --------------------------------------------------------------------

    def create_person(self, kind: str, group_id: str, name: str, user_data: str | None) -> str:
        with self._op("create_person", kind=kind, group_id=group_id, name=name):
            g = self._writable(self._group(kind, group_id))
            _check_name(name)
            _check_user_data(user_data, USER_DATA_MAX_CHARS)
            person = FakePerson(self._new_id(), name, user_data)
            g.persons[person.person_id] = person
            return person.person_id

    def list_persons(self, kind: str, group_id: str) -> list[PersonInfo]:
        with self._op("list_persons", kind=kind, group_id=group_id):
            g = self._group(kind, group_id)
            persons = sorted(g.persons.values(), key=lambda p: p.person_id)
            self._count_pages(len(persons))
            return [_person_info(p) for p in persons]

    def get_person(self, kind: str, group_id: str, person_id: str) -> PersonInfo:
        with self._op("get_person", kind=kind, group_id=group_id, person_id=person_id):
            return _person_info(self._person(kind, group_id, person_id))

    def update_person(
        self, kind: str, group_id: str, person_id: str, name: str | None, user_data: str | None
    ) -> None:
        with self._op("update_person", kind=kind, group_id=group_id, person_id=person_id):
            self._writable(self._group(kind, group_id))
            p = self._person(kind, group_id, person_id)
            if name is not None:
                _check_name(name)
            _check_user_data(user_data, USER_DATA_MAX_CHARS)
            p.name = name if name is not None else p.name
            p.user_data = user_data if user_data is not None else p.user_data

    def delete_person(self, kind: str, group_id: str, person_id: str) -> None:
        with self._op("delete_person", kind=kind, group_id=group_id, person_id=person_id):
            g = self._writable(self._group(kind, group_id))
            self._person(kind, group_id, person_id)
            del g.persons[person_id]

    # --- faces ------------------------------------------------------------------------

    def add_face(
        self,
        kind: str,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        user_data: str | None = None,
        target_face: tuple[int, int, int, int] | None = None,
        detection_model: str | None = None,
    ) -> str:
        sha = image_key(image)
        details = {"kind": kind, "group_id": group_id, "person_id": person_id, "sha256": sha}
        with self._op("add_face", **details):
            self._writable(self._group(kind, group_id))
            p = self._person(kind, group_id, person_id)
            _check_user_data(user_data, FACE_USER_DATA_MAX_CHARS)
            self._check_image(image)
            if target_face is not None and (len(target_face) != 4 or min(target_face) < 0):
                raise _bad("Invalid argument targetFace.")
            if detection_model is not None and detection_model not in DETECTION_MODELS:
                raise _bad("'detectionModel' is invalid.")
            if len(p.faces) >= FACES_PER_PERSON_MAX:
                raise ApiError(403, "QuotaExceeded", "Persisted face number reached limit.")
            face = FakeFace(self._new_id(), sha, user_data, detection_model, target_face)
            p.faces[face.face_id] = face
            return face.face_id

    def get_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> FaceInfo:
        with self._op("get_face", kind=kind, group_id=group_id, person_id=person_id):
            f = self._face(kind, group_id, person_id, face_id)
            return FaceInfo(f.face_id, f.user_data)

    def update_face(
        self, kind: str, group_id: str, person_id: str, face_id: str, user_data: str
    ) -> None:
        details = {"kind": kind, "group_id": group_id, "person_id": person_id, "face_id": face_id}
        with self._op("update_face", **details):
            f = self._face(kind, group_id, person_id, face_id)
            _check_user_data(user_data, FACE_USER_DATA_MAX_CHARS)
            f.user_data = user_data

    def delete_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> None:
        details = {"kind": kind, "group_id": group_id, "person_id": person_id, "face_id": face_id}
        with self._op("delete_face", **details):
            self._writable(self._group(kind, group_id))
            self._face(kind, group_id, person_id, face_id)
            del self._person(kind, group_id, person_id).faces[face_id]

    # --- recognition: a face "matches" a persisted face with the same bytes ----------

    def detect(
        self, image: bytes, *, recognition_model: str, detection_model: str
    ) -> list[DetectedFace]:
        with self._op("detect"):
            self._check_image(image)
            face_id = self._new_id()
            self._detected[face_id] = image_key(image)
            return [DetectedFace(face_id, (0, 0, 100, 100))]

    def identify(
        self,
        face_ids: list[str],
        kind: str,
        group_id: str,
        *,
        max_candidates: int = 1,
        threshold: float | None = None,
    ) -> list[IdentifyResult]:
        with self._op("identify", kind=kind, group_id=group_id):
            g = self.groups.get((kind, group_id))
            if g is None:
                raise ApiError(400, _code(kind, "NotFound"), "Person group is not found.")
            if not g.index and g.training != "succeeded":
                raise ApiError(400, _code(kind, "NotTrained"), "Person group not trained.")
            results = []
            for face_id in face_ids:
                if face_id not in self._detected:
                    raise ApiError(400, "FaceNotFound", "Face is not found.")
                matches = g.index.get(self._detected[face_id], ())[:max_candidates]
                results.append(IdentifyResult(face_id, tuple(Candidate(p, 1.0) for p in matches)))
            return results

    # --- internals ------------------------------------------------------------------------

    @contextmanager
    def _op(self, operation: str, **args: Any) -> Iterator[None]:
        """Record the call, apply injections, track concurrency, and run the
        operation's body under the lock (an `after` injection fails it once done)."""
        person = args.get("person_id")
        with self._lock:
            self.calls.append(Call(operation, args))
            self.calls_made += 1
            injection = self._take_injection(operation, args)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            if person:
                self._per_person[person] = self._per_person.get(person, 0) + 1
                self.max_in_flight_per_person = max(
                    self.max_in_flight_per_person, self._per_person[person]
                )
        try:
            self._meet(operation)
            if injection and not injection.after:
                raise injection.error
            with self._lock:
                yield
            if injection and injection.after:
                raise injection.error
        finally:
            with self._lock:
                self._in_flight -= 1
                if person:
                    self._per_person[person] -= 1

    def _meet(self, operation: str) -> None:
        with self._lock:
            slot = self._barriers.get(operation)
            if slot is not None and slot[1] > 0:
                slot[1] -= 1  # one-shot: only the first `parties` callers wait
            else:
                slot = None
        if slot is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                slot[0].wait()  # a broken barrier shows in max_in_flight
        if self.delay:
            time.sleep(self.delay)

    def _take_injection(self, operation: str, args: dict[str, Any]) -> _Injection | None:
        if self._flaky is not None and operation in self._flaky[2]:
            rate, rng, _ = self._flaky
            hit, after = rng.random(), rng.random() < 0.5
            if hit < rate:
                self.faults += 1
                error = lost_answer(operation) if after else ApiError(
                    500, "InternalServerError", "injected failure"
                )
                return _Injection(operation, error, 1, {}, after)
        for inj in self._injections:
            if (
                inj.operation == operation
                and inj.times > 0
                and all(args.get(k) == v for k, v in inj.match.items())
            ):
                inj.times -= 1
                return inj
        return None

    def _count_pages(self, n: int) -> None:
        self.calls_made += n // self.page_size  # the first page was counted by _op

    def _new_id(self) -> str:
        n = next(self._ids)
        return f"{n:08x}-0000-4000-8000-{n:012x}"

    def _group(self, kind: str, group_id: str) -> FakeGroup:
        _kind(kind)
        g = self.groups.get((kind, group_id))
        if g is None:
            valid = GROUP_ID_RE.fullmatch(group_id or "")
            message = "Person group is not found." if valid else "Person group ID is invalid."
            raise ApiError(404, _code(kind, "NotFound"), message)
        return g

    def _person(self, kind: str, group_id: str, person_id: str) -> FakePerson:
        g = self._group(kind, group_id)
        if not _GUID.match(person_id or ""):
            raise ApiError(404, "PersonNotFound", "Person ID is invalid.")
        if person_id not in g.persons:
            raise ApiError(404, "PersonNotFound", f"Person {person_id} is not found.")
        return g.persons[person_id]

    def _face(self, kind: str, group_id: str, person_id: str, face_id: str) -> FakeFace:
        p = self._person(kind, group_id, person_id)
        if not _GUID.match(face_id or ""):
            raise ApiError(404, "PersistedFaceNotFound", "Persisted face ID is invalid.")
        if face_id not in p.faces:
            raise ApiError(404, "PersistedFaceNotFound", f"Persisted face {face_id} is not found.")
        return p.faces[face_id]

    def _writable(self, g: FakeGroup) -> FakeGroup:
        if g.training == "running":
            raise ApiError(
                409, _code(g.kind, "TrainingNotFinished"), "Person group is under training."
            )
        return g

    def _finish_training(self, g: FakeGroup) -> None:
        if not g.persons:
            g.training = "failed"
            return
        g.training = "succeeded"
        index: dict[str, list[str]] = {}
        for p in sorted(g.persons.values(), key=lambda p: p.person_id):
            for f in p.faces.values():
                index.setdefault(f.sha256, []).append(p.person_id)
        g.index = {sha: tuple(ids) for sha, ids in index.items()}

    def _check_image(self, image: bytes) -> None:
        if not self.check_images:
            return
        if len(image) < IMAGE_MIN_BYTES:
            raise ApiError(400, "InvalidImageSize", "Image size is too small.")
        if len(image) > IMAGE_MAX_BYTES:
            raise ApiError(400, "InvalidImageSize", "Image size is too big.")


def lost_answer(operation: str) -> ApiUnreachableError:
    """What the client raises when the connection drops after the request went out."""
    return ApiUnreachableError(f"no answer to {operation}", ambiguous=True)


def _kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown group kind {kind!r}")


def _code(kind: str, suffix: str) -> str:
    return ("LargePersonGroup" if kind == "largePersonGroup" else "PersonGroup") + suffix


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadArgument", message)


def _check_name(name: str | None) -> None:
    if not name:
        raise _bad("'name' is empty.")
    if too_long(name, NAME_MAX_CHARS):  # UTF-16 units, as the service counts
        raise _bad("'name' is too long.")


def _check_user_data(user_data: str | None, limit: int) -> None:
    if user_data is not None and too_long(user_data, limit):
        raise _bad("'userData' is too long.")


def _person_info(p: FakePerson) -> PersonInfo:
    return PersonInfo(p.person_id, p.name, p.user_data, tuple(p.faces))
