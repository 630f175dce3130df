"""One apply at a time per lock file.

An OS file lock (filelock, flock on POSIX) guards the run; the kernel drops
it when the holder dies, so a lock left by a killed process on this host is
taken over automatically. A small JSON note beside it names the holder (pid,
host, start time) for the message the second run prints.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from facesync.errors import LockHeldError
from facesync.state.local_dir import ensure_local_dir


def run_lock_paths(lock_path: Path) -> tuple[Path, Path]:
    """The OS lock file and the holder note for a lock file, in `.facesync/`."""
    local = ensure_local_dir(lock_path.parent)
    stem = f"run-{lock_path.name}"
    return local / f"{stem}.lock", local / f"{stem}.holder.json"


def _holder_text(note: Path) -> str:
    try:
        holder = json.loads(note.read_text(encoding="utf-8"))
        return (
            f"facesync pid {holder['pid']} on host {holder['host']} "
            f"(started {holder['started']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another facesync process"


@contextmanager
def hold_run_lock(lock_path: Path, command: str) -> Iterator[None]:
    """Hold the run lock for `lock_path` or fail at once naming the holder."""
    os_lock_path, note = run_lock_paths(lock_path)
    os_lock = FileLock(str(os_lock_path), timeout=0)
    try:
        os_lock.acquire()
    except Timeout:
        raise LockHeldError(
            f"{lock_path} is in use by {_holder_text(note)}; wait for it to finish, "
            "or run `facesync force-unlock` if that process is gone"
        ) from None
    try:
        note.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "command": command,
                },
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
        yield
    finally:
        note.unlink(missing_ok=True)
        os_lock.release()


def force_unlock(lock_path: Path) -> bool:
    """Remove the run lock and its note; True if there was anything to remove."""
    os_lock_path, note = run_lock_paths(lock_path)
    found = os_lock_path.exists() or note.exists()
    note.unlink(missing_ok=True)
    os_lock_path.unlink(missing_ok=True)
    return found
