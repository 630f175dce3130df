"""The intent journal: what facesync was about to create, written before it asks.

The Face API has no idempotency key: when a create-person or add-face POST
loses its answer, the object may or may not exist. Markers in userData
(facesync.markers) prove ownership when the manifest leaves userData free;
for the rest, the executor appends an *intent* to
`.facesync/journal-<lock file name>.jsonl` (and fsyncs it) before every
non-idempotent call, and a *resolution* once the answer is clear. An intent
without a resolution is *pending*: the next plan may adopt an object that
matches it and that was not already on the server when it was written.

The journal holds digests and ids only, never names, userData or the key.
A line that cannot be read is ignored with a warning: the journal can only
add ownership proofs, so losing one never blocks an apply.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facesync.digest import image_key, text_digest, upgraded_text_digest
from facesync.markers import face_sha_from_marker, person_key_from_marker
from facesync.state.model import ObservedPerson
from facesync.workspace import journal_path

CREATE_GROUP, CREATE_PERSON, ADD_FACE = "create_group", "create_person", "add_face"
_OPS = (CREATE_GROUP, CREATE_PERSON, ADD_FACE)


def _image(sha256: str | None) -> str | None:
    """A journal written before lock format 2 names images by their hex SHA-256."""
    return image_key(sha256) if sha256 is not None else None


def user_data_digest(user_data: str | None) -> str:
    """The digest the journal records: the service does not tell unset from empty."""
    return text_digest(user_data or "") or ""


@dataclass(frozen=True)
class Intent:
    """One non-idempotent call facesync was about to make."""

    op: str  # create_group | create_person | add_face
    group: str
    kind: str
    person: str | None = None  # the person key (persons and faces)
    person_id: str | None = None  # faces: the person it was added to
    sha256: str | None = None  # faces
    name_digest: str | None = None  # persons
    user_data_digest: str | None = None  # persons and faces: user_data_digest(sent)
    # Ids of objects already on the server, at plan time, that an answer-less
    # call could be confused with: they are never taken for ours.
    preexisting: frozenset[str] = frozenset()
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    def to_json(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "op": self.op,
            "group": self.group,
            "kind": self.kind,
            "person": self.person,
            "personId": self.person_id,
            "sha256": self.sha256,
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
        optional = ("person", "personId", "sha256", "name", "userDataDigest")
        if any(doc.get(k) is not None and not isinstance(doc[k], str) for k in optional):
            raise ValueError("an intent with a field of the wrong type")
        preexisting = doc.get("preexisting", [])
        if not isinstance(preexisting, list) or not all(isinstance(i, str) for i in preexisting):
            raise ValueError("an intent whose preexisting is not a list of ids")
        return cls(
            op=doc["op"], group=doc["group"], kind=doc["kind"], person=doc.get("person"),
            person_id=doc.get("personId"), sha256=_image(doc.get("sha256")),
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

    def pending(self) -> tuple[Intent, ...]:
        """Intents without a resolution, in the order they were written."""
        intents: dict[str, Intent] = {}
        resolved: set[str] = set()
        for number, line in self._lines():
            try:
                doc = json.loads(line)
                if isinstance(doc, dict) and isinstance(doc.get("resolved"), str):
                    resolved.add(doc["resolved"])
                    continue
                intent = Intent.from_json(doc)
            except ValueError as exc:
                self._say(f"{self.path}:{number}: ignored an unreadable journal line ({exc})")
                continue
            intents[intent.id] = intent
        return tuple(i for key, i in intents.items() if key not in resolved)

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
        data = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        with self._mutex:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, data)
            if sync:
                os.fsync(self._fd)

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


# --- what an intent or a marker proves ----------------------------------------------


def claimed_person_key(
    kind: str, group_id: str, person: ObservedPerson, intents: Iterable[Intent]
) -> str | None:
    """The person key an unrecorded person belongs to, if it is provably facesync's:
    its marker names the key, or pending intents for one key match its name and
    userData and it was not on the server when they were written."""
    marked = person_key_from_marker(person.user_data)
    if marked is not None:
        return marked
    name, data = text_digest(person.name), user_data_digest(person.user_data)
    keys = {
        i.person
        for i in intents
        if i.op == CREATE_PERSON and i.group == group_id and i.kind == kind
        and i.name_digest == name and i.user_data_digest == data
        and person.person_id not in i.preexisting and i.person
    }
    return keys.pop() if len(keys) == 1 else None


def claimed_face_sha(
    kind: str, group_id: str, person_id: str, face_id: str, user_data: str | None,
    intents: Iterable[Intent],
) -> str | None:
    """The image (sha256) an unrecorded face of a person is, if it is provably
    facesync's; `user_data` is what a GET of the face returned."""
    marked = face_sha_from_marker(user_data)
    if marked is not None:
        return image_key(marked)  # markers before lock format 2 hold the hex SHA-256
    data = user_data_digest(user_data)
    shas = {
        i.sha256
        for i in intents
        if i.op == ADD_FACE and i.group == group_id and i.kind == kind
        and i.person_id == person_id and i.user_data_digest == data
        and face_id not in i.preexisting and i.sha256
    }
    return shas.pop() if len(shas) == 1 else None


def intends_group(kind: str, group_id: str, intents: Iterable[Intent]) -> bool:
    """A pending create of exactly this group (a PUT whose answer was lost)."""
    return any(i.op == CREATE_GROUP and i.group == group_id and i.kind == kind for i in intents)
