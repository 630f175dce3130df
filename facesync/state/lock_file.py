"""The lock file: read, check and write the recorded state (docs/lock-and-plan.md).

Deterministic bytes, one person per line, so the file diffs well in Git; atomic
writes so an interrupted apply never leaves a half-written lock; a lock that
cannot be trusted is refused and never touched. A format 1 lock is read as it
is and written back in today's format by the next write that changes state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from facesync.atomic import write_atomically
from facesync.bulk import building
from facesync.errors import LockFileError
from facesync.schemas_dir import schema_text
from facesync.state.lock_format import (
    SCHEMA_NAME,
    first_error,
    first_v1_error,
    lock_bytes,
    state_error,
    state_from_doc,
    state_from_v1_doc,
)
from facesync.state.model import LOCK_VERSION, LockState
from facesync.workspace import ensure_local_dir, lock_check_path

__all__ = [
    "lock_bytes",
    "lock_path_for",
    "read_lock",
    "write_lock",
]
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
    except IsADirectoryError:
        raise LockFileError(
            f"the lock file {path} is a folder: pass a file path with --lock"
        ) from None
    except OSError as exc:
        raise LockFileError(
            f"cannot read the lock file {path}: {exc.strerror or exc}; check its permissions"
        ) from exc
    with building():  # a lock of 100,000 persons is millions of objects (facesync.bulk)
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
    old = version == 1 and not isinstance(version, bool)
    fingerprint = None if old else _fingerprint(raw)
    checked = fingerprint is not None and _checked_before(path, fingerprint)
    error = None if checked else first_v1_error(doc) if old else first_error(doc)
    if error is not None:
        raise LockFileError(
            f"the lock file {path} does not match the lock format at {error}; "
            "restore it from Git"
        )
    state = state_from_v1_doc(doc) if old else state_from_doc(doc)
    for g in state.groups:
        for p in g.persons:
            if len({f.sha256 for f in p.faces}) != len(p.faces):
                raise LockFileError(
                    f"the lock file {path} lists the same image twice under "
                    f"groups.{g.group_id}.persons.{p.key}; restore it from Git"
                )
    if fingerprint is not None and not checked:
        _note_checked(path, fingerprint)
    return state


# A lock of 100,000 persons takes over a second to check against the schema, and
# a plan reads the same bytes again and again: `.facesync/checked-<lock>` keeps
# the SHA-256 of the bytes last found valid with the schema's own. Only reads
# note it: apply writes the lock every few seconds and never reads it back.


def _fingerprint(raw: bytes) -> str:
    schema = schema_text(SCHEMA_NAME).encode("utf-8")
    return hashlib.sha256(raw).hexdigest() + " " + hashlib.sha256(schema).hexdigest()


def _checked_before(path: Path, fingerprint: str) -> bool:
    try:
        noted = lock_check_path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return False
    return noted.strip() == fingerprint


def _note_checked(path: Path, fingerprint: str) -> None:
    """Best effort: a cache that cannot be written only costs the next check."""
    with contextlib.suppress(OSError):
        ensure_local_dir(path.parent)
        write_atomically(lock_check_path(path), (fingerprint + "\n").encode("ascii"))


# --- writing ------------------------------------------------------------------


def write_lock(
    path: Path, state: LockState, *, notice: Callable[[str], None] | None = None
) -> LockState:
    """Write `state` with the next serial, atomically; return what was written.
    A state read from an older format is written in today's, and `notice` is told."""
    written = LockState(
        endpoint=state.endpoint, serial=state.serial + 1, groups=state.groups, version=LOCK_VERSION
    )
    error = state_error(written)
    if error is not None:  # a bug upstream; never write a lock that could not be read back
        raise LockFileError(f"refusing to write the lock file {path}: {error}")
    write_atomically(path, lock_bytes(written))
    if state.version < LOCK_VERSION and state.serial > 0 and notice is not None:
        notice(upgrade_notice(path, state.version))
    return written


def upgrade_notice(path: Path, old_version: int) -> str:
    return (
        f"Upgraded the lock file {path} from format {old_version} to {LOCK_VERSION} "
        "(same ids, one person per line); commit it, and use this facesync or newer to read it."
    )
