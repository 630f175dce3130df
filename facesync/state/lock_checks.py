"""The lock file as untrusted input: every id of the service's form, none twice.

A lock reaches facesync through pull requests, and its ids go into URL paths
and decide what apply deletes: a personId `../../../persongroups/x` names
another group, and one personId under two person keys makes apply delete a
real person as a "duplicate". So, before any call, every group id and person
key follows the service's rule, every personId and persistedFaceId is a GUID
as the service writes it (lowercase), and no personId or persistedFaceId is
listed twice anywhere in the lock: the service makes them unique, and a face
listed under a person is that person's, so one face under two persons is a
lock that lies.

Both formats are read as `json.loads` gave them. A quick yes answers for a good
lock in C-level passes (about a quarter of a second for 100,000 persons x 5
faces); only a lock it doubts is walked, to name the first problem, and a part
of the wrong type is left to the schema, which says what it should be. Neither
runs on bytes facesync has checked before (the note in facesync.state.lock_file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from facesync.limits import GROUP_ID_RE, PERSON_KEY_RE
from facesync.schemas_dir import json_path

# Bump when a check is added: the checked-lock note then no longer vouches for
# bytes that were only checked by the older rules.
CHECKS_VERSION = "ids-1"

GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NOT_A_GUID = "is not a GUID as the service writes ids (lowercase hex, 8-4-4-4-12)"
_NOT_A_GROUP_ID = "is not a group id (1 to 64 of a-z, 0-9, _ and -)"
_NOT_A_KEY = "is not a person key (1 to 64 of A-Z, a-z, 0-9, ., _ and -)"
_FIX = "fix or remove the lock entry"
_TWICE = "remove the entry that is wrong, or restore the lock from Git"
_SHOWN_MAX = 48
_ABSENT = object()

Where = tuple[str | int, ...]


def first_problem(doc: Any) -> str | None:
    """`where: what; how to fix` of the first untrustworthy id in a lock
    document (format 1 or 2), or None when every id can be sent.
    A quick yes answers for a good lock; the walk then finds where."""
    if _all_ids_sound(doc):
        return None
    return next(_problems(doc), None)  # None: the structure is wrong, as the schema says


def is_guid(value: object) -> bool:
    return isinstance(value, str) and GUID_RE.fullmatch(value) is not None


def id_problem(field_name: str, value: object) -> str | None:
    """What is wrong with `value` as the id a payload field names (`group_id`,
    `person_id`, `persisted_face_id`, `old_persisted_face_id`), or None: for a
    saved plan, whose ids go into URL paths as the lock's do. None (an absent
    optional id) and other fields pass."""
    if value is None:
        return None
    if field_name == "group_id":
        return None if _is_group_id(value) else f"{_shown(value)} {_NOT_A_GROUP_ID}"
    if field_name in ("person_id", "persisted_face_id", "old_persisted_face_id"):
        return None if is_guid(value) else f"{_shown(value)} {_NOT_A_GUID}"
    return None


def saved_ids_problem(data: Mapping[str, object]) -> tuple[str, str] | None:
    """(field, problem) of the first id of a saved payload's `data` that could
    not have come from the service, or None."""
    for name, value in data.items():
        problem = id_problem(name, value)
        if problem is not None:
            return name, problem
    return None


# --- the quick yes ---------------------------------------------------------------


def _all_ids_sound(doc: Any) -> bool:
    """True when every id has its form and none is listed twice: lists, C-level
    maps and set sizes; anything unusual, a part of the wrong type included, is
    False and left to the walk. A usual face line is `"<22-character digest>
    <36-character id> <path>"`; a line of another shape fails the schema."""
    try:
        person_ids: list[str] = []
        face_ids: list[str] = []
        for group_id, group in doc["groups"].items():
            persons = group["persons"]
            if not GROUP_ID_RE.match(group_id) or not all(map(PERSON_KEY_RE.match, persons)):
                return False
            person_ids += [person["personId"] for person in persons.values()]
            face_ids += [  # a usual line by slicing: cheaper than a split
                f[23:59] if type(f) is str and f[59:60] == " " else f["persistedFaceId"]
                for person in persons.values() for f in person["faces"]
            ]
        return (all_guids(person_ids) and all_guids(face_ids)
                and len(set(person_ids)) == len(person_ids)
                and len(set(face_ids)) == len(face_ids))
    except (AttributeError, KeyError, TypeError, IndexError):
        return False


_GUID_CHARS = b"0123456789abcdef-"
_HYPHENS_AT = (8, 13, 18, 23)


def all_guids(ids: list[Any]) -> bool:
    """True when every item is a str that GUID_RE fullmatches: the same answer as one
    match per id, in C-level passes over the ids joined (a tenth of the time for
    600,000 ids). Every id 36 characters long, so that each 36-character block of
    the joined text is one id; in each block hyphens exactly at 8, 13, 18 and 23
    (four per block in all, so none elsewhere); nothing but lowercase hex besides."""
    count = len(ids)
    try:
        if count and set(map(len, ids)) != {36}:
            return False
        joined = "".join(ids).encode("ascii")
    except (TypeError, UnicodeEncodeError):  # not a str, or not ASCII
        return False
    return (
        joined.count(b"-") == 4 * count
        and all(joined[at::36] == b"-" * count for at in _HYPHENS_AT)
        and not joined.translate(None, _GUID_CHARS)
    )


# --- the walk -------------------------------------------------------------------


class _Seen:
    """Where each personId and persistedFaceId was first listed: the person's
    path, shared by all its faces, so that a lock of 600,000 ids makes no tuple
    per face."""

    def __init__(self) -> None:
        self.persons: dict[str, Where] = {}
        self.faces: dict[str, Where] = {}


def _problems(doc: Any) -> Iterator[str]:
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, dict):
        return
    seen = _Seen()
    for group_id, group in groups.items():
        at: Where = ("groups", group_id)
        if not _is_group_id(group_id):
            yield f"{_where(at)}: {_shown(group_id)} {_NOT_A_GROUP_ID}; {_FIX}"
            return
        persons = group.get("persons") if isinstance(group, dict) else None
        if isinstance(persons, dict):
            for key, person in persons.items():
                yield from _person_problems((*at, "persons", key), person, seen)


def _person_problems(at: Where, person: Any, seen: _Seen) -> Iterator[str]:
    key = at[-1]
    if not (isinstance(key, str) and PERSON_KEY_RE.match(key)):
        yield f"{_where(at)}: {_shown(key)} {_NOT_A_KEY}; {_FIX}"
        return
    if not isinstance(person, dict):
        return
    person_id = person.get("personId", _ABSENT)
    if person_id is not _ABSENT:
        if not is_guid(person_id):
            yield f"{_where((*at, 'personId'))}: {_shown(person_id)} {_NOT_A_GUID}; {_FIX}"
            return
        first = seen.persons.setdefault(person_id, at)
        if first is not at:
            yield (f"{_where((*at, 'personId'))}: {_shown(person_id)} is also the personId of "
                   f"{_where(first)}, and the service gives each person its own; {_TWICE}")
            return
    faces = person.get("faces")
    if isinstance(faces, list):
        yield from _face_problems(at, faces, seen)


def _face_problems(at: Where, faces: list[Any], seen: _Seen) -> Iterator[str]:
    for i, face in enumerate(faces):
        face_id = _face_id(face)
        if face_id is _ABSENT:
            continue  # not a face entry at all: the schema says what it should be
        if not is_guid(face_id):
            yield (f"{_where(_face_id_at(at, i, face))}: persistedFaceId {_shown(face_id)} "
                   f"{_NOT_A_GUID}; {_FIX}")
            return
        if face_id in seen.faces:
            yield (f"{_where(_face_id_at(at, i, face))}: persistedFaceId {_shown(face_id)} is "
                   f"listed twice (also under {_where(seen.faces[face_id])}), and a face "
                   f"belongs to one person; {_TWICE}")
            return
        seen.faces[face_id] = at  # type: ignore[index]


def _face_id(face: Any) -> object:
    """The persistedFaceId of a face line `"<digest> <id> <path>"` (format 2) or
    of a face object (both formats); _ABSENT when the entry has none."""
    if type(face) is str:
        parts = face.split(" ", 2)
        return parts[1] if len(parts) == 3 else _ABSENT
    if isinstance(face, dict):
        return face.get("persistedFaceId", _ABSENT)
    return _ABSENT


def _face_id_at(at: Where, index: int, face: Any) -> Where:
    return (*at, "faces", index) if isinstance(face, str) else (*at, "faces", index,
                                                                "persistedFaceId")


def _is_group_id(value: object) -> bool:
    return isinstance(value, str) and GROUP_ID_RE.match(value) is not None


# --- one line, whatever the lock holds ------------------------------------------


def _where(at: Where) -> str:
    """The JSON path (facesync.schemas_dir.json_path), with a key that would break
    the line (a newline, an escape sequence) spelled as a Python literal."""
    out = ""
    for part in at:
        if isinstance(part, str) and not part.isprintable():
            out += f"[{part!r}]"
            continue
        piece = json_path([part])
        out += "." + piece if out and not piece.startswith("[") else piece
    return out


def _shown(value: object) -> str:
    """A value quoted on one line and cut short: a hostile lock may hold any text."""
    if isinstance(value, str):
        text = repr(value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX])
        return text if len(value) <= _SHOWN_MAX else text + "..."
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "..."


# --- JSON objects ------------------------------------------------------------------


class DuplicateKeyError(ValueError):
    """One key twice in one JSON object: json.loads would keep the last value
    silently, so a reviewer of the diff could read an entry facesync ignores."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def line(self) -> str:
        return (f"the key {_shown(self.key)} appears twice in one object, and only one can "
                f"be meant; {_TWICE}")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An `object_pairs_hook` for json.loads that refuses a key given twice."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return out
