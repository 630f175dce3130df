"""The one atomic file writer: the lock file, saved plans and the hash cache.

Temp file in the same folder + fsync + `os.replace` + fsync of the folder:
readers see the old content or the new, never a mix, even after a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, new_mode: int = 0o644) -> None:
    """Replace `path` with `data`; an existing file keeps its permissions,
    a new one gets `new_mode`."""
    folder = path.parent
    mode = _mode_for(path, new_mode)
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


def _mode_for(path: Path, new_mode: int) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return new_mode


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
