"""What each change and lock-only update carries for the executor and the lock.

One frozen dataclass per kind of payload, so a reader names attributes that
exist instead of guessing string keys. The diff writes them; the executor
(facesync.engine.actions, .training), the lock (facesync.engine.record) and
saved plans (facesync.plan.saved) read them. Which payload goes with which
change is `facesync.plan.model.change_payload_type`.

`to_data`/`from_data` are a saved plan's `data` object: the same keys the
plan file has always had, every value type-checked on the way back.
Values only, no I/O.
"""

from __future__ import annotations

import json
import types
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from facesync.digest import image_key, upgraded_text_digest
from facesync.errors import PlanError

TargetFace = tuple[int, int, int, int]  # left, top, width, height
T = TypeVar("T")

# Field metadata: absent from a saved plan's data while it has its default
# (the key only ever appeared for some actions: a replace's old ids, ...).
_ABSENT_BY_DEFAULT = {"absent_by_default": True}


def _sometimes(default: Any) -> Any:
    """A field the saved data leaves out while it holds `default`."""
    return field(default=default, metadata=_ABSENT_BY_DEFAULT)


# --- groups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSpec:
    """Create or replace a group: what the PUT sends. `old_kind`: on a replace,
    the kind of the group deleted first (a kind change replaces the group)."""

    group_id: str
    kind: str
    name: str
    user_data: str | None
    recognition_model: str
    old_kind: str | None = _sometimes(None)


@dataclass(frozen=True)
class GroupUpdate:
    """PATCH a group: only what changed is sent; None leaves it as it is."""

    group_id: str
    kind: str
    name: str | None
    user_data: str | None  # "" clears what someone else set


@dataclass(frozen=True)
class GroupRef:
    """A group by id, for a delete."""

    group_id: str
    kind: str


@dataclass(frozen=True)
class TrainSpec:
    """Train a group (and wait for it, unless told not to)."""

    group_id: str
    kind: str


# --- persons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonSpec:
    """Create (or replace) a person. `user_data` carries facesync's marker unless
    the manifest sets it; `preexisting`: unrecorded persons with the same name and
    userData, which the journal intent must never take for this create's result;
    `person_id`: on a replace, the person deleted first."""

    group_id: str
    kind: str
    person_key: str
    name: str
    user_data: str | None
    preexisting: tuple[str, ...] = ()
    person_id: str | None = _sometimes(None)


@dataclass(frozen=True)
class PersonUpdate:
    """PATCH a person: only what changed is sent; None leaves it as it is."""

    group_id: str
    kind: str
    person_key: str
    person_id: str
    name: str | None
    user_data: str | None


@dataclass(frozen=True)
class PersonRef:
    """A person by id, for a delete. `unrecorded`: a duplicate or orphan facesync
    made but the lock never recorded (deleting it changes nothing in the lock)."""

    group_id: str
    kind: str
    person_key: str
    person_id: str
    unrecorded: bool = _sometimes(False)


# --- faces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceSpec:
    """Add (or replace) a face. `person_id` is None when the person is created in
    the same plan (the executor learns its id then); `abs_path` is where to read
    the bytes, `path` the manifest's spelling; `preexisting`: unrecorded faces of
    the person with the same userData (never taken for this add's result); a
    replace names the face it deletes first (`old_persisted_face_id`, `old_sha256`)."""

    group_id: str
    kind: str
    person_key: str
    person_id: str | None
    sha256: str
    path: str
    abs_path: str
    target_face: TargetFace | None
    user_data: str | None
    detection_model: str
    preexisting: tuple[str, ...] = ()
    old_persisted_face_id: str | None = _sometimes(None)
    old_sha256: str | None = _sometimes(None)


@dataclass(frozen=True)
class FaceUpdate:
    """PATCH a face's userData; `path` is the manifest's (maybe new) path for the lock."""

    group_id: str
    kind: str
    person_key: str
    person_id: str
    sha256: str
    persisted_face_id: str
    path: str
    user_data: str


@dataclass(frozen=True)
class FaceRef:
    """A face by id, for a delete. `unrecorded`: a duplicate or orphan the lock
    never recorded; its `path` is then the face id (it has no manifest path)."""

    group_id: str
    kind: str
    person_key: str
    person_id: str
    sha256: str
    persisted_face_id: str
    path: str
    unrecorded: bool = _sometimes(False)


# --- lock-only updates -------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """The same image (by sha256) now lives at `path`: only the lock changes."""

    group_id: str
    kind: str
    person_key: str
    sha256: str
    path: str


@dataclass(frozen=True)
class Forget:
    """Gone from both the manifest and the server: the lock forgets a group, a
    person (`person_key`) or a face (`person_key` and `sha256`)."""

    group_id: str
    kind: str
    person_key: str | None = _sometimes(None)
    sha256: str | None = _sometimes(None)


@dataclass(frozen=True)
class AdoptGroup:
    """A group facesync created but never recorded, as the lock will record it."""

    group_id: str
    kind: str
    recognition_model: str
    name_digest: str
    user_data_digest: str | None
    training_status: str | None


@dataclass(frozen=True)
class AdoptPerson:
    """A person facesync created but never recorded, as the lock will record it."""

    group_id: str
    kind: str
    person_key: str
    person_id: str
    name_digest: str
    user_data_digest: str | None


@dataclass(frozen=True)
class AdoptFace:
    """A face facesync added but never recorded, as the lock will record it."""

    group_id: str
    kind: str
    person_key: str
    sha256: str
    path: str
    persisted_face_id: str
    target_face: TargetFace | None
    detection_model: str
    user_data_digest: str | None


GroupPayload = GroupSpec | GroupUpdate | GroupRef | TrainSpec
PersonPayload = PersonSpec | PersonUpdate | PersonRef
FacePayload = FaceSpec | FaceUpdate | FaceRef
ChangePayload = GroupPayload | PersonPayload | FacePayload
LockPayload = Move | Forget | AdoptGroup | AdoptPerson | AdoptFace
Payload = ChangePayload | LockPayload

# Payloads of changes and updates that live inside a person (they have a person_key).
MEMBER_PAYLOADS = (PersonSpec, PersonUpdate, PersonRef, FaceSpec, FaceUpdate, FaceRef)


# --- saved plans: the `data` object ------------------------------------------------------


def to_data(payload: Payload) -> dict[str, object]:
    """The JSON object a saved plan holds for `payload` (tuples become lists)."""
    out: dict[str, object] = {}
    for f in fields(payload):
        value = getattr(payload, f.name)
        if f.metadata.get("absent_by_default") and value == f.default:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


class PayloadError(PlanError):
    """A saved payload that is not what its change needs; `field` is the key at
    fault ("" for the whole object)."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}" if field_name else problem)
        self.field = field_name
        self.problem = problem


def from_data(cls: type[T], data: object) -> T:
    """`data` read back as a `cls` (a payload dataclass); a PayloadError names the
    first field that is missing, unknown or of the wrong type, so that a damaged
    plan file is refused in one line, never half-run."""
    if not isinstance(data, dict):
        raise PayloadError("", f"expected an object for {_a(cls)}, not {_shown(data)}")
    hints = _hints(cls)
    unknown = sorted(str(k) for k in data if k not in hints)
    if unknown:
        raise PayloadError(unknown[0], f"not a field of {_a(cls)}")
    values: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is MISSING:
                raise PayloadError(f.name, f"missing ({_a(cls)} needs it)")
            continue
        values[f.name] = _upgraded(f.name, _checked(f.name, data[f.name], hints[f.name]))
    return cls(**values)


def _upgraded(name: str, value: object) -> object:
    """Digests as today's short form: a plan or results log written before lock
    format 2 holds image SHA-256s in hex and text digests as `sha256:<hex>`."""
    if not isinstance(value, str):
        return value
    if name in ("sha256", "old_sha256"):
        return image_key(value)
    if name.endswith("_digest"):
        return upgraded_text_digest(value)
    return value


def _a(cls: type) -> str:
    """`a FaceSpec`, `an AdoptGroup`."""
    return f"{'an' if cls.__name__[0] in 'AEIOU' else 'a'} {cls.__name__}"


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _checked(name: str, value: object, hint: Any) -> object:
    """`value` as the field's type (a JSON list becomes a tuple), or a PlanError."""
    converted = _convert(value, hint)
    if converted is _WRONG:
        raise PayloadError(name, f"expected {_describe(hint)}, not {_shown(value)}")
    return converted


_WRONG = object()


def _convert(value: object, hint: Any) -> object:
    """`value` as `hint` (str, int, bool, X | None, tuple[X, ...], fixed tuples), else _WRONG."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _convert(value, inner)
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, list):
            return _WRONG
        items = args[:1] * len(value) if args[1:] == (Ellipsis,) else args
        if len(items) != len(value):
            return _WRONG
        out = tuple(_convert(v, t) for v, t in zip(value, items, strict=True))
        return _WRONG if _WRONG in out else out
    if hint is bool:
        return value if isinstance(value, bool) else _WRONG
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _WRONG
    if hint is str:
        return value if isinstance(value, str) else _WRONG
    raise TypeError(f"no saved form for {hint!r}")  # a payload field of a new type


_ONE = {bool: "true or false", int: "an integer", str: "a string"}
_MANY = {int: "integers", str: "strings"}


def _describe(hint: Any) -> str:
    """`a string or null`, `a list of 4 integers`: what a field wants, for errors."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = next(a for a in get_args(hint) if a is not type(None))
        return f"{_describe(inner)} or null"
    if origin is tuple:
        args = get_args(hint)
        if args[1:] == (Ellipsis,):
            return f"a list of {_MANY[args[0]]}"
        return f"a list of {len(args)} {_MANY[args[0]]}"
    return _ONE[hint]


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
