"""The lock file's bytes: state <-> text, schema checks, and the format 1 reader.

Format 2 is one JSON document laid out one person per line, so that a change
to one person changes that line only and Git diffs stay small, and so that a
lock of 100,000 persons x 5 faces stays well under what Git hosts accept: a
face is one text `"<sha256 digest> <persistedFaceId> <path>"` whenever it
was added in the usual way, paths are relative to the person's folder, and a
value facesync can work out again (a name that is the person key, its own
userData marker) is left out. apply writes the lock every few seconds, so
each person's text and schema verdict are cached by value and a write only
renders the persons that changed.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

from facesync.digest import image_key, text_digest, upgraded_text_digest
from facesync.markers import FACE_PREFIX, face_user_data, person_user_data
from facesync.schemas_dir import compiled_check, inlined_schema, json_path, load_schema
from facesync.state.model import LOCK_VERSION, LockedFace, LockedGroup, LockedPerson, LockState

SCHEMA_NAME = "lock.schema.json"
V1_SCHEMA_NAME = "lock.v1.schema.json"
DEFAULT_DETECTION_MODEL = "detection_03"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def marker_digest(sha256: str) -> str:
    """The digest of the userData facesync sends with a face of its own."""
    return text_digest(face_user_data(sha256, None)) or ""


def _person_marker_digest(key: str) -> str:
    return text_digest(person_user_data(key, None)) or ""


# --- state -> text ------------------------------------------------------------


def lock_bytes(state: LockState) -> bytes:
    """The exact bytes of the lock file (format 2). The same state always gives the
    same bytes; persons sorted by key, faces by digest, a trailing newline. The
    commas between persons stand on lines of their own, so that adding or removing
    a person never touches a line of another."""
    head = {"version": LOCK_VERSION, "serial": state.serial, "endpoint": state.endpoint}
    lines = [_dumps(head)[:-1] + ',"groups":{']
    for i, group in enumerate(state.groups):
        if i:
            lines.append(",")
        lines.append(_group_head(group))
        for j, person in enumerate(group.persons):
            if j:
                lines.append(",")
            lines.append(_rendered(person)[0])
        lines.append("}}")
    lines.append("}}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _group_head(g: LockedGroup) -> str:
    """`"<id>":{...,"persons":{`: the group's own line, its persons below it."""
    return _dumps(g.group_id) + ":" + _dumps(_group_doc(g))[:-1] + ',"persons":{'


def _group_doc(g: LockedGroup) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": g.kind,
        "recognitionModel": g.recognition_model,
        "nameDigest": g.name_digest,
    }
    if g.user_data_digest is not None:
        doc["userDataDigest"] = g.user_data_digest
    training: dict[str, Any] = {}
    if g.training_status is not None:
        training["status"] = g.training_status
    training["needsTraining"] = g.needs_training
    doc["training"] = training
    return doc


def _person_doc(p: LockedPerson) -> dict[str, Any]:
    """The person's object as the lock file holds it."""
    doc: dict[str, Any] = {"personId": p.person_id}
    if p.name_digest != text_digest(p.key):
        doc["nameDigest"] = p.name_digest
    if p.user_data_digest != _person_marker_digest(p.key):
        doc["userDataDigest"] = p.user_data_digest
    faces = sorted(p.faces, key=lambda f: f.sha256)
    folder = _common_folder([f.path for f in faces]) if len(faces) > 1 else ""
    if folder:
        doc["dir"] = folder
    doc["faces"] = [_face_entry(f, f.path[len(folder):]) for f in faces]
    return doc


def _common_folder(paths: list[str]) -> str:
    """The longest folder (ending in /) that every path lies in; "" for none."""
    prefix = paths[0][: paths[0].rfind("/") + 1]
    for path in paths[1:]:
        while prefix and not path.startswith(prefix):
            prefix = prefix[: prefix.rfind("/", 0, len(prefix) - 1) + 1]
    return prefix


def _face_entry(f: LockedFace, path: str) -> str | dict[str, Any]:
    usual = (
        f.target_face is None
        and f.detection_model == DEFAULT_DETECTION_MODEL
        and f.user_data_digest == marker_digest(f.sha256)
        and _plain(f.persisted_face_id)
        and "\n" not in path
    )
    if usual:
        return f"{f.sha256} {f.persisted_face_id} {path}"
    doc: dict[str, Any] = {"sha256": f.sha256, "persistedFaceId": f.persisted_face_id,
                           "path": path}
    if f.target_face is not None:
        doc["targetFace"] = list(f.target_face)
    if f.detection_model != DEFAULT_DETECTION_MODEL:
        doc["detectionModel"] = f.detection_model
    if f.user_data_digest != marker_digest(f.sha256):
        doc["userDataDigest"] = f.user_data_digest
    return doc


def _plain(face_id: str) -> bool:
    return 0 < len(face_id) <= 128 and " " not in face_id and "\n" not in face_id


# The text and schema verdict of each person, by value, for as long as the
# person is alive: a write renders only the persons that changed since the last.
_RENDERED: weakref.WeakKeyDictionary[LockedPerson, tuple[str, str | None]] = (
    weakref.WeakKeyDictionary()
)


def _rendered(p: LockedPerson) -> tuple[str, str | None]:
    """`"<key>":{...}` and the first schema problem of the person (None if valid)."""
    try:
        return _RENDERED[p]
    except KeyError:
        pass
    doc = _person_doc(p)
    text = _dumps(p.key) + ":" + _dumps(doc)
    error = None
    if not _fast_check("person")(doc) or not _fast_check("personKey")(p.key):
        error = _first(_persons_validator(), {"persons": {p.key: doc}})
    _RENDERED[p] = (text, error)
    return text, error


# --- text -> state ------------------------------------------------------------


def state_from_doc(doc: dict[str, Any]) -> LockState:
    """The state of a format 2 document that passed `first_error`."""
    groups = []
    for group_id, g in sorted(doc["groups"].items()):
        training = g["training"]
        groups.append(LockedGroup(
            group_id=group_id,
            kind=g["kind"],
            recognition_model=g["recognitionModel"],
            name_digest=g["nameDigest"],
            user_data_digest=g.get("userDataDigest"),
            training_status=training.get("status"),
            needs_training=training["needsTraining"],
            persons=tuple(_person(key, p) for key, p in sorted(g["persons"].items())),
        ))
    return LockState(endpoint=doc["endpoint"], serial=doc["serial"], groups=tuple(groups))


def _person(key: str, p: dict[str, Any]) -> LockedPerson:
    folder = p.get("dir", "")
    faces = [_face(f, folder) for f in p["faces"]]
    faces.sort(key=lambda f: f.sha256)
    return LockedPerson(
        key=key,
        person_id=p["personId"],
        name_digest=p["nameDigest"] if "nameDigest" in p else text_digest(key) or "",
        user_data_digest=(
            p["userDataDigest"] if "userDataDigest" in p else _person_marker_digest(key)
        ),
        faces=tuple(faces),
    )


def _face(entry: str | dict[str, Any], folder: str) -> LockedFace:
    if isinstance(entry, str):
        sha256, face_id, path = entry.split(" ", 2)
        return LockedFace(sha256, folder + path, face_id, None, DEFAULT_DETECTION_MODEL,
                          marker_digest(sha256))
    sha256 = entry["sha256"]
    target = entry.get("targetFace")
    return LockedFace(
        sha256=sha256,
        path=folder + entry["path"],
        persisted_face_id=entry["persistedFaceId"],
        target_face=tuple(target) if target is not None else None,  # type: ignore[arg-type]
        detection_model=entry.get("detectionModel", DEFAULT_DETECTION_MODEL),
        user_data_digest=(
            entry["userDataDigest"] if "userDataDigest" in entry else marker_digest(sha256)
        ),
    )


# --- format 1 -----------------------------------------------------------------


def state_from_v1_doc(doc: dict[str, Any]) -> LockState:
    """The state of a format 1 document that passed `first_v1_error`, in today's
    digests (`version` stays 1, so that the next write says it upgraded the file)."""
    groups = []
    for group_id, g in sorted(doc["groups"].items()):
        persons = tuple(
            LockedPerson(
                key,
                p["personId"],
                upgraded_text_digest(p["nameDigest"]) or "",
                upgraded_text_digest(p["userDataDigest"]),
                tuple(sorted((_v1_face(f) for f in p["faces"]), key=lambda f: f.sha256)),
            )
            for key, p in sorted(g["persons"].items())
        )
        groups.append(LockedGroup(
            group_id=group_id,
            kind=g["kind"],
            recognition_model=g["recognitionModel"],
            name_digest=upgraded_text_digest(g["nameDigest"]) or "",
            user_data_digest=upgraded_text_digest(g["userDataDigest"]),
            training_status=g["training"]["status"],
            needs_training=g["training"]["needsTraining"],
            persons=persons,
        ))
    return LockState(endpoint=doc["endpoint"], serial=doc["serial"], groups=tuple(groups),
                     version=1)


def _v1_face(f: dict[str, Any]) -> LockedFace:
    target = f["targetFace"]
    sha256 = image_key(f["sha256"])
    sent = f["userDataDigest"]
    if sent == "sha256:" + _hex_digest(FACE_PREFIX + f["sha256"]):
        sent = marker_digest(sha256)  # the old marker named the image in hex: same meaning
    return LockedFace(
        sha256=sha256,
        path=f["path"],
        persisted_face_id=f["persistedFaceId"],
        target_face=tuple(target) if target is not None else None,  # type: ignore[arg-type]
        detection_model=f["detectionModel"],
        user_data_digest=upgraded_text_digest(sent),
    )


def _hex_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- schema -------------------------------------------------------------------


def first_error(doc: Any) -> str | None:
    """`where: what` of the first problem of a format 2 document, or None when valid.
    A compiled validator answers for a valid lock; jsonschema then finds where (and
    should the two ever disagree, the lock is refused rather than trusted)."""
    if _fast_check("")(doc):
        return None
    return _first(_validator(), doc) or "the top level: not valid under the lock schema"


def first_v1_error(doc: Any) -> str | None:
    return _first(_v1_validator(), doc)


def state_error(state: LockState) -> str | None:
    """Like first_error of the state's document, checking only persons not seen before."""
    head: dict[str, Any] = {
        "version": LOCK_VERSION, "serial": state.serial, "endpoint": state.endpoint,
        "groups": {g.group_id: {**_group_doc(g), "persons": {}} for g in state.groups},
    }
    error = first_error(head)
    if error is not None:
        return error
    for g in state.groups:
        for p in g.persons:
            error = _rendered(p)[1]
            if error is not None:
                return f"groups.{g.group_id}.{error}"
    return None


def _first(validator: Draft202012Validator, doc: Any) -> str | None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    where = json_path(tuple(errors[0].absolute_path), top="the top level")
    return f"{where}: {errors[0].message}"


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # only to explain a bad file: slow to import

    return Draft202012Validator(inlined_schema(SCHEMA_NAME))


@cache
def _v1_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(inlined_schema(V1_SCHEMA_NAME))


@cache
def _persons_validator() -> Draft202012Validator:
    """Checks `{"persons": {key: person}}`, so that a problem's path starts at persons."""
    from jsonschema import Draft202012Validator

    schema = inlined_schema(SCHEMA_NAME)
    persons = schema["properties"]["groups"]["additionalProperties"]["properties"]["persons"]
    return Draft202012Validator({
        "$schema": schema["$schema"], "type": "object", "properties": {"persons": persons},
    })


@cache
def _fast_check(part: str) -> Callable[[Any], bool]:
    """The compiled check of the whole document ("") or of one $defs entry."""
    schema = load_schema(SCHEMA_NAME)
    return compiled_check(
        schema if not part else {"$defs": schema["$defs"], "$ref": f"#/$defs/{part}"}
    )
