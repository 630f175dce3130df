"""One apply (or destroy) at a time per lock file.

An OS file lock (filelock: flock on POSIX) guards the run; the kernel drops it
when the holder dies, so a lock left by a killed process is taken over by the
next run without anyone's help. A small JSON note beside it names the holder
(command, pid, host, start time) for the message a second run prints; a note
left behind by a killed process is harmless and is never shown as the holder
of a lock that is free, nor when it names a process of this host that is gone.

`plan`, `show` and `identify` do not take the run lock: they never write the
lock file, and the lock file is replaced atomically, so they read a whole
lock even while an apply runs. A plan saved meanwhile (`plan -o`) records the
lock's serial and is refused by `apply PLAN` once that apply has moved it.

The run lock belongs to the real lock file: a lock reached through a symlink
and through its target share one (facesync.workspace.real_lock_path).

The OS lock file itself is never deleted while anyone could hold it: a
process waiting on the old inode and a newcomer creating a new one would
both "hold" the lock. Only `force-unlock`, breaking a lock whose holder is
on another host or gone, removes it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from facesync.atomic import write_atomically
from facesync.errors import LockFileError, LockHeldError, os_error_line
from facesync.private_files import PRIVATE_FILE_MODE
from facesync.workspace import ensure_local_dir, run_lock_paths

# How long a second run waits for a holder that has just taken the lock to
# write its note, so that the message can name it.
_NOTE_GRACE_SECONDS = 1.0
_NOTE_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a run lock, as its note says."""

    pid: int
    host: str
    started: str  # ISO 8601, UTC
    command: str = "apply"

    def __str__(self) -> str:
        where = f"pid {self.pid} on host {self.host}, started {self.started}"
        return f"facesync {self.command} ({where})"

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    @property
    def is_gone(self) -> bool:
        """True only when we can tell: a process of this host that no longer runs."""
        return self.on_this_host and not process_alive(self.pid)


@dataclass(frozen=True)
class Unlocked:
    """What force_unlock found: `free` (nothing to do), `stale` (the note of a
    finished process, removed) or `broken` (a held lock, broken)."""

    outcome: str
    holder: Holder | None = None


@contextmanager
def hold_run_lock(lock_path: Path, command: str) -> Iterator[Holder]:
    """Hold the run lock for `lock_path`, or fail at once naming the holder."""
    os_lock_path, note = run_lock_paths(lock_path)
    os_lock = _take(lock_path, os_lock_path, note)
    me = Holder(os.getpid(), socket.gethostname(), _now(), command)
    try:
        try:
            _write_note(note, me)
        except OSError as exc:
            raise LockFileError(f"cannot write the run lock's note: {os_error_line(exc)}") from None
        yield me
    finally:
        if read_holder(note) == me:  # after a force-unlock the note may be another's
            note.unlink(missing_ok=True)
        os_lock.release()


def _take(lock_path: Path, os_lock_path: Path, note: Path) -> FileLock:
    try:
        ensure_local_dir(os_lock_path.parent.parent)
        os_lock = FileLock(str(os_lock_path), timeout=0, mode=PRIVATE_FILE_MODE)
        os_lock.acquire()
        return os_lock
    except Timeout:
        holder = _wait_for_note(note)
    except OSError as exc:
        if exc.filename is None:
            exc = OSError(exc.errno, exc.strerror, str(os_lock_path))
        raise LockFileError(f"cannot create the run lock: {os_error_line(exc)}") from None
    who = str(holder) if holder is not None else "another facesync process"
    raise LockHeldError(
        f"{lock_path} is in use by {who}; wait for it to finish, "
        "or run `facesync force-unlock` if that process is gone"
    )


def _wait_for_note(note: Path) -> Holder | None:
    """The live holder named by the note; a holder that has just won the lock
    gets a moment to replace the note a killed process left."""
    deadline = time.monotonic() + _NOTE_GRACE_SECONDS
    while True:
        holder = read_holder(note)
        if holder is not None and not holder.is_gone:
            return holder
        if time.monotonic() >= deadline:
            return None
        time.sleep(_NOTE_POLL_SECONDS)


def force_unlock(lock_path: Path) -> Unlocked:
    """Remove a stale holder note, or break a lock whose holder is gone or elsewhere.

    A holder that still runs on this host is never broken (LockHeldError):
    stopping it releases its lock at once, breaking it would let two runs
    interleave.
    """
    os_lock_path, note = run_lock_paths(lock_path)
    holder = read_holder(note)
    if not os_lock_path.exists():
        note.unlink(missing_ok=True)
        return Unlocked("stale" if holder else "free", holder)
    probe = FileLock(str(os_lock_path), timeout=0, mode=PRIVATE_FILE_MODE)
    try:
        probe.acquire()
    except Timeout:
        pass
    else:
        try:
            note.unlink(missing_ok=True)
        finally:
            probe.release()
        return Unlocked("stale" if holder else "free", holder)
    if holder is not None and holder.on_this_host and not holder.is_gone:
        raise LockHeldError(
            f"{lock_path} is held by {holder}, which is still running; stop it "
            f"(kill {holder.pid}) and its lock is released at once"
        )
    note.unlink(missing_ok=True)
    os_lock_path.unlink(missing_ok=True)
    return Unlocked("broken", holder)


def read_holder(note: Path) -> Holder | None:
    """The holder a note names, or None when there is no usable note."""
    try:
        doc = json.loads(note.read_text(encoding="utf-8"))
        holder = Holder(
            pid=int(doc["pid"]),
            host=str(doc["host"]),
            started=str(doc["started"]),
            command=str(doc.get("command", "apply")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return holder


def _write_note(note: Path, holder: Holder) -> None:
    """Atomically, so a second run never reads half a note."""
    text = json.dumps(asdict(holder), sort_keys=True) + "\n"
    write_atomically(note, text.encode("utf-8"), keep_mode=False)


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs (a zombie does not)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # os.kill would terminate it: assume it runs
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return False
    except OSError:
        pass
    else:
        return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
