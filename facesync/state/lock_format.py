"""The lock file's JSON document: state <-> document, exact bytes, schema checks.

apply writes the lock after every server call, so the cost of a write must
not grow with the gallery: each person's JSON text and schema verdict are
cached by value, and a write only serialises and validates the persons that
changed (the result is byte-identical to one json.dumps of the whole file).
"""

from __future__ import annotations

import json
import re
import secrets
from functools import cache, lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from facesync.schemas_dir import inlined_schema, json_path
from facesync.state.model import LOCK_VERSION, LockedFace, LockedGroup, LockedPerson, LockState

SCHEMA_NAME = "lock.schema.json"
# The indentation of a person's object in the file: groups > id > persons > key.
_PERSON_INDENT = " " * 8
_CACHE_SIZE = 1 << 15  # persons; enough for large galleries, bounded memory


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


# --- state -> document ------------------------------------------------


def lock_to_doc(state: LockState) -> dict[str, Any]:
    """The JSON document of a state (the lock file's content)."""
    return _doc(state, lambda g: {p.key: person_doc(p) for p in g.persons})


def _doc(state: LockState, persons_of: Any) -> dict[str, Any]:
    return {
        "version": state.version,
        "serial": state.serial,
        "endpoint": state.endpoint,
        "groups": {g.group_id: _group_doc(g, persons_of(g)) for g in state.groups},
    }


def _group_doc(g: LockedGroup, persons: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": g.kind,
        "recognitionModel": g.recognition_model,
        "nameDigest": g.name_digest,
        "userDataDigest": g.user_data_digest,
        "training": {"status": g.training_status, "needsTraining": g.needs_training},
        "persons": persons,
    }


def person_doc(p: LockedPerson) -> dict[str, Any]:
    return {
        "personId": p.person_id,
        "nameDigest": p.name_digest,
        "userDataDigest": p.user_data_digest,
        "faces": [_face_doc(f) for f in sorted(p.faces, key=lambda f: f.sha256)],
    }


def _face_doc(f: LockedFace) -> dict[str, Any]:
    return {
        "sha256": f.sha256,
        "path": f.path,
        "persistedFaceId": f.persisted_face_id,
        "targetFace": list(f.target_face) if f.target_face is not None else None,
        "detectionModel": f.detection_model,
        "userDataDigest": f.user_data_digest,
    }


# --- exact bytes ------------------------------------------------


def lock_bytes(state: LockState) -> bytes:
    """The exact bytes of the lock file: sorted keys, two-space indent, a trailing
    newline. The same state always gives the same bytes."""
    token = secrets.token_hex(16)  # marks where each person's cached text goes
    slots: list[str] = []

    def persons_of(g: LockedGroup) -> dict[str, str]:
        out = {}
        for p in g.persons:
            out[p.key] = f"{token}:{len(slots)}"
            slots.append(_person_text(p))
        return out

    outer = _dumps(_doc(state, persons_of))
    text = re.sub(f'"{token}:([0-9]+)"', lambda m: slots[int(m.group(1))], outer)
    return (text + "\n").encode("utf-8")


@lru_cache(maxsize=_CACHE_SIZE)
def _person_text(p: LockedPerson) -> str:
    return _dumps(person_doc(p)).replace("\n", "\n" + _PERSON_INDENT)


# --- document -> state ------------------------------------------------


def state_from_doc(doc: dict[str, Any]) -> LockState:
    """The state of a document that passed `first_error`."""
    groups = []
    for group_id, g in sorted(doc["groups"].items()):
        persons = tuple(
            LockedPerson(
                key,
                p["personId"],
                p["nameDigest"],
                p["userDataDigest"],
                tuple(sorted((_face_from_doc(f) for f in p["faces"]), key=lambda f: f.sha256)),
            )
            for key, p in sorted(g["persons"].items())
        )
        groups.append(
            LockedGroup(
                group_id=group_id,
                kind=g["kind"],
                recognition_model=g["recognitionModel"],
                name_digest=g["nameDigest"],
                user_data_digest=g["userDataDigest"],
                training_status=g["training"]["status"],
                needs_training=g["training"]["needsTraining"],
                persons=persons,
            )
        )
    return LockState(
        endpoint=doc["endpoint"], serial=doc["serial"], groups=tuple(groups), version=LOCK_VERSION
    )


def _face_from_doc(f: dict[str, Any]) -> LockedFace:
    target = f["targetFace"]
    return LockedFace(
        sha256=f["sha256"],
        path=f["path"],
        persisted_face_id=f["persistedFaceId"],
        target_face=tuple(target) if target is not None else None,  # type: ignore[arg-type]
        detection_model=f["detectionModel"],
        user_data_digest=f["userDataDigest"],
    )


# --- schema ------------------------------------------------


def first_error(doc: Any) -> str | None:
    """`where: what` of the first problem in document order, or None when valid."""
    return _first(_validator(), doc, ())


def state_error(state: LockState) -> str | None:
    """Like first_error(lock_to_doc(state)), validating only persons not seen before."""
    error = _first(_validator(), _doc(state, lambda g: {}), ())
    if error is not None:
        return error
    for g in state.groups:
        for p in g.persons:
            error = _person_error(p)
            if error is not None:
                return f"groups.{g.group_id}.persons.{error}"
    return None


@lru_cache(maxsize=_CACHE_SIZE)
def _person_error(p: LockedPerson) -> str | None:
    return _first(_persons_validator(), {p.key: person_doc(p)}, ())


def _first(validator: Draft202012Validator, doc: Any, prefix: tuple[Any, ...]) -> str | None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    where = json_path((*prefix, *errors[0].absolute_path), top="the top level")
    return f"{where}: {errors[0].message}"


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(inlined_schema(SCHEMA_NAME))


@cache
def _persons_validator() -> Draft202012Validator:
    schema = inlined_schema(SCHEMA_NAME)
    persons = schema["properties"]["groups"]["additionalProperties"]["properties"]["persons"]
    return Draft202012Validator({"$schema": schema["$schema"], **persons})
