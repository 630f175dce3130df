"""Files that hold names, userData, photo paths or ids stay the owner's alone.

New files are created 0600 and folders 0700 (a stricter umask wins); an
existing file that group or others may read is the user's choice (a lock kept
0644 in Git on purpose), so it keeps its mode and gets one warning per run
naming the file and the fix.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_SHARED_BITS = 0o077

Warn = Callable[[str], None]

_warned: set[str] = set()
_warned_mutex = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux).
    Elsewhere the os.umask round trip sets 077 for an instant: a file another
    thread creates meanwhile is only ever stricter, never looser."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


def creation_mode(requested: int = PRIVATE_FILE_MODE) -> int:
    """`requested` as the umask lets it be: a stricter umask wins."""
    return requested & ~current_umask() & 0o777


def loose_mode_warning(path: Path, mode: int) -> str | None:
    """The one line for a file group or others may read or write, else None."""
    if os.name == "nt" or not mode & _SHARED_BITS:
        return None
    return (
        f"warning: {path} can be read by other users of this machine (mode "
        f"{stat.S_IMODE(mode):04o}); run `chmod 600 {path}` unless you share it on purpose"
    )


def warn_if_loose(path: Path, warn: Warn | None = None) -> None:
    """Warn once per run when the existing file at `path` is looser than 0600.
    Its mode is never changed; a file that is missing says nothing."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    line = loose_mode_warning(path, mode)
    if line is None:
        return
    key = _real_key(path)
    with _warned_mutex:
        if key in _warned:
            return
        _warned.add(key)
    (warn or _to_stderr)(line)


def _real_key(path: Path) -> str:
    """A symlink and its target are one file: warn about it once."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return str(path.absolute())


def _to_stderr(line: str) -> None:
    """Where a caller without a `warn` channel warns: stderr, as commands' `say`
    does, so stdout keeps only the command's output."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
