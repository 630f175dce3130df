"""The lock file: read, check and write the recorded state (SPEC §3).

Deterministic bytes (sorted keys, two-space indent, trailing newline) so the
file diffs well in Git; atomic writes so an interrupted apply never leaves a
half-written lock; a lock that cannot be trusted is refused and never touched.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from facesync.errors import LockFileError
from facesync.schemas_dir import load_schema
from facesync.state.model import LOCK_VERSION, LockedFace, LockedGroup, LockedPerson, LockState

SCHEMA_NAME = "lock.schema.json"
_MANIFEST_SUFFIXES = (".yaml", ".yml")


def lock_path_for(manifest_path: Path) -> Path:
    """`manifests/example.yaml` -> `manifests/example.lock.json`."""
    if manifest_path.suffix.lower() in _MANIFEST_SUFFIXES:
        return manifest_path.with_suffix(".lock.json")
    return manifest_path.with_name(manifest_path.name + ".lock.json")


# --- reading ------------------------------------------------------------------


def read_lock(path: Path, endpoint: str, *, rebind: bool = False) -> LockState:
    """The recorded state for `endpoint`; an empty one when the file does not exist.

    With `rebind` a lock written for another endpoint is accepted and the
    returned state carries `endpoint` (an empty `endpoint` keeps the recorded
    one, for commands that only display the lock).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LockState(endpoint=endpoint, serial=0)
    except OSError as exc:
        raise LockFileError(f"cannot read the lock file {path}: {exc.strerror or exc}") from exc
    state = parse_lock(raw, path)
    if state.endpoint != endpoint and endpoint:
        if not rebind:
            raise LockFileError(
                f"the lock file {path} was written for {state.endpoint}; "
                f"use --rebind to move it to {endpoint}"
            )
        return LockState(
            endpoint=endpoint, serial=state.serial, groups=state.groups, version=state.version
        )
    return state


def parse_lock(raw: bytes, path: Path) -> LockState:
    """Decode, check the version, validate against the schema, build the state."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LockFileError(
            f"the lock file {path} is not UTF-8 text; restore it from Git"
        ) from exc
    except json.JSONDecodeError as exc:
        raise LockFileError(
            f"the lock file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); restore it from Git"
        ) from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > LOCK_VERSION:
        raise LockFileError(
            f"the lock file {path} has version {version}, newer than this facesync reads "
            f"({LOCK_VERSION}); upgrade facesync"
        )
    error = _first_error(doc)
    if error is not None:
        raise LockFileError(
            f"the lock file {path} does not match the lock format at "
            f"{_json_path(error.absolute_path)}: {error.message}; restore it from Git"
        )
    return _state_from_doc(doc, path)


def _state_from_doc(doc: dict[str, Any], path: Path) -> LockState:
    groups = []
    for group_id, g in sorted(doc["groups"].items()):
        persons = []
        for key, p in sorted(g["persons"].items()):
            faces = tuple(sorted((_face_from_doc(f) for f in p["faces"]), key=lambda f: f.sha256))
            shas = [f.sha256 for f in faces]
            if len(set(shas)) != len(shas):
                raise LockFileError(
                    f"the lock file {path} lists the same image twice under "
                    f"groups.{group_id}.persons.{key}; restore it from Git"
                )
            persons.append(
                LockedPerson(key, p["personId"], p["nameDigest"], p["userDataDigest"], faces)
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
                persons=tuple(persons),
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


# --- writing ------------------------------------------------------------------


def lock_to_doc(state: LockState) -> dict[str, Any]:
    """The JSON document of a state (the lock file's content)."""
    return {
        "version": state.version,
        "serial": state.serial,
        "endpoint": state.endpoint,
        "groups": {g.group_id: _group_doc(g) for g in state.groups},
    }


def _group_doc(g: LockedGroup) -> dict[str, Any]:
    return {
        "kind": g.kind,
        "recognitionModel": g.recognition_model,
        "nameDigest": g.name_digest,
        "userDataDigest": g.user_data_digest,
        "training": {"status": g.training_status, "needsTraining": g.needs_training},
        "persons": {
            p.key: {
                "personId": p.person_id,
                "nameDigest": p.name_digest,
                "userDataDigest": p.user_data_digest,
                "faces": [_face_doc(f) for f in sorted(p.faces, key=lambda f: f.sha256)],
            }
            for p in g.persons
        },
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


def lock_bytes(state: LockState) -> bytes:
    """The exact bytes of the lock file: the same state always gives the same bytes."""
    text = json.dumps(lock_to_doc(state), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def write_lock(path: Path, state: LockState) -> LockState:
    """Write `state` with the next serial, atomically; return what was written."""
    written = LockState(
        endpoint=state.endpoint, serial=state.serial + 1, groups=state.groups, version=LOCK_VERSION
    )
    error = _first_error(lock_to_doc(written))
    if error is not None:  # a bug upstream; never write a lock that could not be read back
        raise LockFileError(
            f"refusing to write the lock file {path}: {_json_path(error.absolute_path)}: "
            f"{error.message}"
        )
    write_atomically(path, lock_bytes(written))
    return written


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder + fsync + os.replace + fsync of the folder:
    readers see the old content or the new, never a mix, even after a crash."""
    folder = path.parent
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new lock is an ordinary 0644 file."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o644


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- schema -------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(SCHEMA_NAME))


def _first_error(doc: Any) -> ValidationError | None:
    """The first problem in document order (stable messages), or None."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return errors[0] if errors else None


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"
