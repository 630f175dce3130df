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
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facesync.atomic import write_atomically
from facesync.bulk import building
from facesync.errors import LockFileError
from facesync.private_files import warn_if_loose
from facesync.schemas_dir import schema_text
from facesync.state.lock_checks import (
    CHECKS_VERSION,
    DuplicateKeyError,
    first_problem,
    unique_keys,
)
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
from facesync.workspace import ensure_local_dir, lock_check_path, real_lock_path

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
        raw, identity = _read(path)
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
        state = parse_lock(raw, path, identity=identity)
    warn_if_loose(path)  # ids, digests and photo paths: other local users need not read them
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


def _read(path: Path) -> tuple[bytes, str]:
    """The bytes and the identity of the file that held them (see _fingerprint)."""
    with path.open("rb") as file:
        st = os.fstat(file.fileno())
        if st.st_nlink > 1:  # an atomic replace would leave the other names on the old file
            raise LockFileError(
                f"the lock file {path} has {st.st_nlink} hard links, and every write "
                "replaces it, which would split them into separate locks; keep one name "
                "(a symlink to it is followed)"
            )
        identity = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        return file.read(), identity


def parse_lock(raw: bytes, path: Path, *, identity: str | None = None) -> LockState:
    """Decode, check the version, check the ids and the schema, build the state.

    A lock arrives through pull requests: it is untrusted input until checked
    (facesync.state.lock_checks), and refused whole, untouched, in one line.
    With `identity` (of the file read), bytes noted as checked skip the checks.
    """
    fingerprint = None if identity is None else _fingerprint(raw, identity)
    checked = fingerprint is not None and _checked_before(path, fingerprint)
    doc = _decoded(raw, path, trusted=checked)
    version = doc.get("version") if isinstance(doc, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > LOCK_VERSION:
        raise LockFileError(
            f"the lock file {path} has version {version}, newer than this facesync reads "
            f"({LOCK_VERSION}); upgrade facesync"
        )
    old = version == 1 and not isinstance(version, bool)
    if old or not checked:  # format 1 is never noted: the next write upgrades it
        _check(doc, path, old=old)
    state = state_from_v1_doc(doc) if old else state_from_doc(doc)
    if old or not checked:
        _check_images(state, path)
    if fingerprint is not None and not checked and not old:
        _note_checked(path, fingerprint)
    return state


def _decoded(raw: bytes, path: Path, *, trusted: bool) -> Any:
    """The JSON document; unless `trusted`, a key given twice in one object is
    refused rather than silently resolved to its last value."""
    hook = None if trusted else unique_keys
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=hook)
    except UnicodeDecodeError as exc:
        raise LockFileError(
            f"the lock file {path} is not UTF-8 text; restore it from Git"
        ) from exc
    except json.JSONDecodeError as exc:
        raise LockFileError(
            f"the lock file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); restore it from Git"
        ) from exc
    except DuplicateKeyError as exc:
        raise LockFileError(f"{path}: {exc.line()}") from None
    except RecursionError:
        raise LockFileError(
            f"the lock file {path} nests deeper than any lock; restore it from Git"
        ) from None


def _check(doc: Any, path: Path, *, old: bool) -> None:
    """Ids first, with their own words (what the service would take), then the
    schema (every other field's form)."""
    problem = first_problem(doc)
    if problem is not None:
        raise LockFileError(f"{path}: {problem}")
    error = first_v1_error(doc) if old else first_error(doc)
    if error is not None:
        raise LockFileError(
            f"the lock file {path} does not match the lock format at {_one_line(error)}; "
            "restore it from Git"
        )


def _check_images(state: LockState, path: Path) -> None:
    for g in state.groups:
        for p in g.persons:
            if len({f.sha256 for f in p.faces}) != len(p.faces):
                raise LockFileError(
                    f"the lock file {path} lists the same image twice under "
                    f"groups.{g.group_id}.persons.{p.key}; restore it from Git"
                )


def _one_line(text: str) -> str:
    """`text` with each character that would break the line or drive the terminal
    spelled as an escape: a schema message quotes keys of the file as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# A lock of 100,000 persons takes seconds to check, and a plan reads the same
# bytes again and again: `.facesync/checked-<lock>` keeps the SHA-256 of the bytes
# last found valid, with the schema's and the checks' version, and the identity
# of the file that held them (device, inode, size, mtime and ctime in ns). The
# identity is what makes the note local evidence: a pull request can carry a
# `.facesync/` file too (git add -f), but not the inode and ctime that a checkout
# gives the lock on this machine, so a note from elsewhere never matches. Only
# reads note: apply writes the lock every few seconds and never reads it back.


def _fingerprint(raw: bytes, identity: str) -> str:
    rules = (schema_text(SCHEMA_NAME) + "\n" + CHECKS_VERSION).encode("utf-8")
    return " ".join(
        (hashlib.sha256(raw).hexdigest(), hashlib.sha256(rules).hexdigest(), identity)
    )


def _checked_before(path: Path, fingerprint: str) -> bool:
    try:
        noted = lock_check_path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return False
    return noted.strip() == fingerprint


def _note_checked(path: Path, fingerprint: str) -> None:
    """Best effort: a cache that cannot be written only costs the next check."""
    with contextlib.suppress(OSError):
        ensure_local_dir(real_lock_path(path).parent)
        write_atomically(
            lock_check_path(path), (fingerprint + "\n").encode("ascii"), keep_mode=False
        )


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
    write_atomically(path, lock_bytes(written), warn=notice)
    if state.version < LOCK_VERSION and state.serial > 0 and notice is not None:
        notice(upgrade_notice(path, state.version))
    return written


def upgrade_notice(path: Path, old_version: int) -> str:
    return (
        f"Upgraded the lock file {path} from format {old_version} to {LOCK_VERSION} "
        "(same ids, one person per line); commit it, and use this facesync or newer to read it."
    )
