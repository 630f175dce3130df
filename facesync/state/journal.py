"""The intent journal: what facesync was about to create, written before it asks.

The Face API has no idempotency key: when a create-person or add-face POST
loses its answer, the object may or may not exist. Markers in userData
(facesync.markers) prove ownership when the manifest leaves userData free;
for the rest, the executor appends an *intent* to
`.facesync/journal-<lock file name>.jsonl` (and fsyncs it) before every
non-idempotent call, and a *resolution* once the answer is clear. An intent
without a resolution is *pending*: the next plan may adopt an object that
matches it and that was not already on the server when it was written.

Once a plan that apply runs has judged a pending intent against a refresh made
after its call, a *within* line narrows the intent to the objects it may have
made that the refresh saw (facesync.engine.converge): objects that appear
later are another call's, so intents of several passes never blur together.
An intent narrowed to nothing is resolved.

The journal holds digests and ids only, never names, userData or the key.
A line that cannot be read is ignored with a warning: the journal can only
add ownership proofs, so losing one never blocks an apply. An intent counts
as written only once every byte is on disk (fsynced); a failed append stops
the apply before the call it guards.

Test-only hook: `FACESYNC_TEST_APPEND_FAULT=journal:short:3` (or `enospc`,
`eio`; `results` for apply's results log) makes this process's 3rd append to
that file fail as a nearly full disk would. It is inert unless set; the fault
campaign (tests/faults) uses it.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facesync.digest import image_key, text_digest, upgraded_text_digest
from facesync.errors import FacesyncError
from facesync.markers import face_sha_from_marker, person_key_from_marker
from facesync.private_files import warn_if_loose
from facesync.state.model import LockState, ObservedGroup, ObservedPerson, ObservedState
from facesync.workspace import journal_path

CREATE_GROUP, CREATE_PERSON, ADD_FACE = "create_group", "create_person", "add_face"
# Written before a face replacement adds the new face: the old face (`face_id`)
# is facesync's to delete, even once the lock records only the new one.
RETIRE_FACE = "retire_face"
_OPS = (CREATE_GROUP, CREATE_PERSON, ADD_FACE, RETIRE_FACE)


def _image(sha256: str | None) -> str | None:
    """A journal written before lock format 2 names images by their hex SHA-256."""
    return image_key(sha256) if sha256 is not None else None


def user_data_digest(user_data: str | None) -> str:
    """The digest the journal records: the service does not tell unset from empty."""
    return text_digest(user_data or "") or ""


@dataclass(frozen=True)
class Intent:
    """One non-idempotent call facesync was about to make."""

    op: str  # create_group | create_person | add_face | retire_face
    group: str
    kind: str
    person: str | None = None  # the person key (persons and faces)
    person_id: str | None = None  # faces: the person it was added to
    sha256: str | None = None  # faces (retire_face: the old face's image)
    face_id: str | None = None  # retire_face: the face to delete
    name_digest: str | None = None  # persons
    user_data_digest: str | None = None  # persons and faces: user_data_digest(sent)
    # Ids of objects already on the server, at plan time, that an answer-less
    # call could be confused with: they are never taken for ours.
    preexisting: frozenset[str] = frozenset()
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    # Read back only (a `within` line): the only objects it may have made, once a
    # refresh after its call was judged; None until then.
    within: frozenset[str] | None = None

    def may_be(self, object_id: str) -> bool:
        """Whether the object may be this intent's result as far as ids tell."""
        if object_id in self.preexisting:
            return False
        return self.within is None or object_id in self.within

    def to_json(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "op": self.op,
            "group": self.group,
            "kind": self.kind,
            "person": self.person,
            "personId": self.person_id,
            "sha256": self.sha256,
            "faceId": self.face_id,
            "name": self.name_digest,
            "userDataDigest": self.user_data_digest,
            "preexisting": sorted(self.preexisting),
        }
        return {k: v for k, v in doc.items() if v is not None}

    @classmethod
    def from_json(cls, doc: Any) -> Intent:
        """The intent of one journal line; ValueError when it is not one."""
        if not isinstance(doc, dict) or doc.get("op") not in _OPS:
            raise ValueError("not an intent")
        texts = ("id", "group", "kind")
        if not all(isinstance(doc.get(k), str) and doc[k] for k in texts):
            raise ValueError("an intent without id, group or kind")
        optional = ("person", "personId", "sha256", "faceId", "name", "userDataDigest")
        if any(doc.get(k) is not None and not isinstance(doc[k], str) for k in optional):
            raise ValueError("an intent with a field of the wrong type")
        preexisting = doc.get("preexisting", [])
        if not isinstance(preexisting, list) or not all(isinstance(i, str) for i in preexisting):
            raise ValueError("an intent whose preexisting is not a list of ids")
        return cls(
            op=doc["op"], group=doc["group"], kind=doc["kind"], person=doc.get("person"),
            person_id=doc.get("personId"), sha256=_image(doc.get("sha256")),
            face_id=doc.get("faceId"),
            name_digest=upgraded_text_digest(doc.get("name")),
            user_data_digest=upgraded_text_digest(doc.get("userDataDigest")),
            preexisting=frozenset(preexisting), id=doc["id"],
        )


class Journal:
    """Appends intents and resolutions; reads the pending intents back. Thread-safe."""

    def __init__(self, path: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._warn = warn
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._warned: set[str] = set()  # each problem is told once per run

    @classmethod
    def for_lock(cls, lock_path: Path, *, warn: Callable[[str], None] | None = None) -> Journal:
        return cls(journal_path(lock_path), warn=warn)

    def intend(self, intent: Intent) -> None:
        """Record an intent durably (fsync) before its call goes out."""
        self._append(intent.to_json(), sync=True)

    def resolve(self, intent: Intent) -> None:
        """The call answered clearly. Not fsynced: a lost resolution only leaves
        an intent pending, which proves nothing the lock does not already know."""
        self._append({"resolved": intent.id}, sync=False)

    def narrow(self, judged: Mapping[str, frozenset[str]]) -> None:
        """After a refresh that followed their calls: each intent may have made
        only these objects (none: resolved). One fsync for all of them; a lost
        line only leaves an intent broader, which costs a delete, never an id."""
        docs = [{"resolved": i} if not ids else {"within": i, "ids": sorted(ids)}
                for i, ids in sorted(judged.items())]
        if docs:
            self._append_all(docs, sync=True)

    def pending(self) -> tuple[Intent, ...]:
        """Intents without a resolution, in the order they were written, each
        narrowed by its `within` lines."""
        intents: dict[str, Intent] = {}
        resolved: set[str] = set()
        narrowed: dict[str, frozenset[str]] = {}
        for number, line in self._lines():
            try:
                doc = json.loads(line)
                if _read_marks(doc, resolved, narrowed):
                    continue
                intent = Intent.from_json(doc)
            except ValueError as exc:
                self._say(f"{self.path}:{number}: ignored an unreadable journal line ({exc})")
                continue
            intents[intent.id] = intent
        return tuple(
            replace(i, within=narrowed.get(key)) for key, i in intents.items()
            if key not in resolved
        )

    def clear(self) -> None:
        """Forget everything: the lock records every object the intents were about."""
        with self._mutex:
            self._close()
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._mutex:
            self._close()

    # --- internals ----------------------------------------------------------------

    def _append(self, doc: dict[str, Any], *, sync: bool) -> None:
        self._append_all([doc], sync=sync)

    def _append_all(self, docs: list[dict[str, Any]], *, sync: bool) -> None:
        data = b"".join(
            (json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
            for d in docs
        )
        with self._mutex:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = open_log(self.path, "journal")
            append_durably(self._fd, data, self.path, "journal", sync=sync)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _lines(self) -> Iterable[tuple[int, str]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self._say(f"cannot read the journal {self.path} ({exc.strerror or exc}); ignored")
            return []
        text = raw.decode("utf-8", "replace")
        return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]

    def _say(self, text: str) -> None:
        if self._warn is not None and text not in self._warned:
            self._warned.add(text)
            self._warn(f"warning: {text}")


def _read_marks(doc: Any, resolved: set[str], narrowed: dict[str, frozenset[str]]) -> bool:
    """Take a resolution or a `within` line; False when `doc` is neither."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("resolved"), str):
        resolved.add(doc["resolved"])
        return True
    if isinstance(doc.get("within"), str):
        ids = doc.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("a within line whose ids are not a list of ids")
        key = doc["within"]
        narrowed[key] = narrowed.get(key, frozenset(ids)) & frozenset(ids)
        return True
    return False


# --- durable appends (the journal and apply's results log) -------------------------


_FAULT_ENV = "FACESYNC_TEST_APPEND_FAULT"
_appends: dict[str, int] = {}  # appends per log kind in this process (the test hook)


def open_log(path: Path, what: str) -> int:
    """Open a log for appending, private to its owner (0o600). A last line cut by a
    kill or a full disk is ended first, so that the next line stays readable."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _append_failed(path, what, exc) from None
    warn_if_loose(path)  # one an older facesync made 0644: say so, keep its mode
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            _write_all(fd, b"\n", what)
    except OSError as exc:
        os.close(fd)
        raise _append_failed(path, what, exc) from None
    return fd


def append_durably(fd: int, data: bytes, path: Path, what: str, *, sync: bool = True) -> None:
    """Write every byte of `data` (looping over short writes) and fsync. On any
    failure the file is cut back to where it was and a FacesyncError names the
    file and the fix: a half-written line must never pass for a written one."""
    start = os.fstat(fd).st_size
    try:
        _write_all(fd, data, what)
        if sync:
            os.fsync(fd)
    except OSError as exc:
        with suppress(OSError):  # else the reader ignores the cut line; open_log ends it
            os.ftruncate(fd, start)
        raise _append_failed(path, what, exc) from None


def _write_all(fd: int, data: bytes, what: str) -> None:
    view = memoryview(data)
    fault = _test_fault(what)
    while view:
        if fault == "short" and len(view) > 1:
            written = os.write(fd, view[: len(view) // 2])
            fault = "enospc"  # a nearly full disk: the next write finds no space
        elif fault in ("enospc", "eio"):
            code = errno.ENOSPC if fault == "enospc" else errno.EIO
            raise OSError(code, os.strerror(code))
        else:
            written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the disk accepted no byte")
        view = view[written:]


def _test_fault(what: str) -> str | None:
    """The test-only hook (module docstring): `what:kind:k` strikes the k-th append."""
    spec = os.environ.get(_FAULT_ENV)
    if not spec:
        return None
    target, _, rest = spec.partition(":")
    kind, _, nth = rest.partition(":")
    if target != what or kind not in ("short", "enospc", "eio") or not nth.isdigit():
        return None
    _appends[what] = _appends.get(what, 0) + 1
    return kind if _appends[what] == int(nth) else None


def _append_failed(path: Path, what: str, exc: OSError) -> FacesyncError:
    name = "the journal" if what == "journal" else "the results log"
    reason = exc.strerror or str(exc)
    fix = "free disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "check the disk"
    if what == "journal":
        done = "the call it guards was not sent"
    else:
        done = "the journal holds the call's intent, so the next apply adopts what it made"
    return FacesyncError(
        f"cannot write {name} {path}: {reason}; {fix} and run facesync apply again ({done})"
    )


# --- what an intent or a marker proves ----------------------------------------------


def person_keys(
    kind: str, group_id: str, person: ObservedPerson, intents: Iterable[Intent]
) -> frozenset[str]:
    """The person keys an unrecorded person may be: the one its marker names, or
    those of pending intents that match its name and userData and may have made
    it. Several: facesync made it, but for which key cannot be told."""
    marked = person_key_from_marker(person.user_data)
    if marked is not None:
        return frozenset({marked})
    name, data = text_digest(person.name), user_data_digest(person.user_data)
    return frozenset(
        i.person
        for i in intents
        if i.op == CREATE_PERSON and i.group == group_id and i.kind == kind
        and i.name_digest == name and i.user_data_digest == data
        and i.may_be(person.person_id) and i.person
    )


def claimed_person_key(
    kind: str, group_id: str, person: ObservedPerson, intents: Iterable[Intent]
) -> str | None:
    """The one person key an unrecorded person provably is (`person_keys`), if one."""
    keys = person_keys(kind, group_id, person, intents)
    return next(iter(keys)) if len(keys) == 1 else None


def face_images(
    kind: str, group_id: str, person_id: str, face_id: str, user_data: str | None,
    intents: Iterable[Intent],
) -> frozenset[str]:
    """The images (sha256) an unrecorded face of a person may be; `user_data` is
    what a GET of the face returned. Its marker names one; else every pending
    add-face intent for this person with that userData that may have made it
    (several when photos share one userData)."""
    marked = face_sha_from_marker(user_data)
    if marked is not None:
        return frozenset({image_key(marked)})  # markers before format 2 hold the hex SHA-256
    data = user_data_digest(user_data)
    return frozenset(
        i.sha256
        for i in intents
        if i.op == ADD_FACE and i.group == group_id and i.kind == kind
        and i.person_id == person_id and i.user_data_digest == data
        and i.may_be(face_id) and i.sha256
    )


def claimed_face_sha(
    kind: str, group_id: str, person_id: str, face_id: str, user_data: str | None,
    intents: Iterable[Intent],
) -> str | None:
    """The one image an unrecorded face provably is (`face_images`), if one."""
    shas = face_images(kind, group_id, person_id, face_id, user_data, intents)
    return next(iter(shas)) if len(shas) == 1 else None


def retired_face(
    kind: str, group_id: str, person_id: str, face_id: str, intents: Iterable[Intent]
) -> Intent | None:
    """The pending retire_face intent that makes this unrecorded face facesync's
    to delete: the old face of a replacement whose new face was added."""
    for i in intents:
        if (i.op == RETIRE_FACE and i.group == group_id and i.kind == kind
                and i.person_id == person_id and i.face_id == face_id):
            return i
    return None


def intends_group(kind: str, group_id: str, intents: Iterable[Intent]) -> bool:
    """A pending create of exactly this group (a PUT whose answer was lost)."""
    return any(
        i.op == CREATE_GROUP and i.group == group_id and i.kind == kind and i.may_be(group_id)
        for i in intents
    )


# --- judging intents against a refresh -----------------------------------------------


def judge(
    intents: Iterable[Intent], observed: ObservedState, lock: LockState
) -> dict[str, frozenset[str]]:
    """For each pending intent, the unrecorded objects of `observed` it may have
    made, by intent id; intents the refresh cannot judge (a face not read) are
    left out. Sound only for intents whose calls ended before the refresh."""
    read = observed.face_user_data()
    judged = {}
    for intent in intents:
        ids = _explained(intent, observed, lock, read)
        if ids is not None:
            judged[intent.id] = ids
    return judged


def _explained(intent: Intent, observed: ObservedState, lock: LockState,
               read: dict[str, str | None]) -> frozenset[str] | None:
    locked = lock.group(intent.group)
    mine = locked is not None and locked.kind == intent.kind
    if intent.op == CREATE_GROUP:
        seen = observed.group(intent.group)
        there = (seen is not None and seen.kind == intent.kind) or (
            (intent.kind, intent.group) in observed.other_group_ids)
        return frozenset({intent.group}) if there and not mine and intent.may_be(
            intent.group) else frozenset()
    group = observed.group(intent.group)
    if group is None or group.kind != intent.kind:
        return frozenset()  # the group is gone, and whatever was in it
    recorded = {p.person_id: p for p in locked.persons} if mine else {}  # type: ignore[union-attr]
    if intent.op == RETIRE_FACE:
        return _retired_still_there(intent, group, recorded)
    if intent.op == CREATE_PERSON:
        return frozenset(
            p.person_id for p in group.persons
            if p.person_id not in recorded and intent.may_be(p.person_id)
            and text_digest(p.name) == intent.name_digest
            and user_data_digest(p.user_data) == intent.user_data_digest
        )
    return _explained_faces(intent, group, recorded, read)


def _retired_still_there(intent: Intent, group: ObservedGroup,
                         recorded: dict[str, Any]) -> frozenset[str]:
    """A retire_face intent stays pending while its face is on the server and
    unrecorded (the next plan deletes it); a face gone, or still recorded (the
    replacement never added its new face), resolves it."""
    person = group.person(intent.person_id or "")
    if person is None or intent.face_id not in person.persisted_face_ids:
        return frozenset()
    have = recorded.get(person.person_id)
    if have is not None and any(f.persisted_face_id == intent.face_id for f in have.faces):
        return frozenset()
    return frozenset({intent.face_id or ""})


def _explained_faces(intent: Intent, group: ObservedGroup, recorded: dict[str, Any],
                     read: dict[str, str | None]) -> frozenset[str] | None:
    person = group.person(intent.person_id or "")
    if person is None:
        return frozenset()
    have = recorded.get(person.person_id)
    known = {f.persisted_face_id for f in have.faces} if have is not None else set()
    found = set()
    for face_id in person.persisted_face_ids:
        if face_id in known or not intent.may_be(face_id):
            continue
        if face_id not in read:
            return None  # not read: this refresh cannot judge the intent
        if user_data_digest(read[face_id]) == intent.user_data_digest:
            found.add(face_id)
    return frozenset(found)
