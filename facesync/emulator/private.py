"""The emulator's data is the owner's alone: faces' embeddings are biometric
templates, and persons' names and userData sit beside them.

The data folder is created 0700 and every file in it 0600 (a stricter umask
wins). SQLite gives its -wal and -shm files the mode of the database file, so
the database is created 0600 before SQLite first opens it. Files that already
exist keep their mode: `loose_files` names those group or others may read, for
the caller to warn about. (The emulator imports no client code, so this is its
own small copy of facesync.private_files' rules.)
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_SHARED_BITS = 0o077


def make_private_dir(folder: Path) -> None:
    """Create `folder` 0700 if it is missing, and its missing parents 0700 too
    (`serve`'s default `.facesync/emulator` creates `.facesync/`)."""
    missing = []
    parent = folder
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for each in reversed(missing):
        each.mkdir(mode=DIR_MODE, exist_ok=True)
    if not folder.is_dir():
        folder.mkdir(mode=DIR_MODE)  # a file in the way: mkdir names the problem


def touch_private(path: Path) -> None:
    """Create an empty `path` 0600 unless it exists; an existing file is left as it is."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)


def open_private(path: Path) -> int:
    """A new file for writing, truncated, created 0600 (an existing one keeps its mode)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)


def loose_files(folder: Path) -> list[Path]:
    """Every file under `folder` that group or others may read or write, sorted."""
    if os.name == "nt":
        return []
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if mode & _SHARED_BITS and not os.path.islink(path):
                found.append(path)
    return sorted(found)


def loose_warning(path: Path) -> str:
    """The one line the owner of a loose data file reads."""
    return (
        f"warning: {path} holds face data other users of this machine can read; "
        f"run `chmod 600 {path}` (and `chmod 700` on its folder)"
    )
