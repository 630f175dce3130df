"""The one atomic file writer: the lock file, saved plans and the hash cache.

Temp file in the same folder + fsync + `os.replace` + fsync of the folder:
readers see the old content or the new, never a mix, even after a crash.
A path that is a symlink is written through: the temp file goes beside the
real file and replaces it, so the link (a lock kept in another folder or
repository) stays a link and its target gets the new bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from facesync.private_files import PRIVATE_FILE_MODE, Warn, creation_mode, warn_if_loose


def write_atomically(
    path: Path,
    data: bytes,
    *,
    new_mode: int = PRIVATE_FILE_MODE,
    warn: Warn | None = None,
    keep_mode: bool = True,
) -> None:
    """Replace the file at `path` (through a symlink) with `data`.

    A new file gets `new_mode` as the umask allows (these files hold names,
    userData and photo paths). An existing file keeps its permissions, the
    user's choice, and a looser one than 0600 is warned about once (`warn`,
    else stderr); `keep_mode=False` is for facesync's own notes in
    `.facesync/`, which always get `new_mode` and never a warning.
    """
    target = real_file(path)
    folder = target.parent
    mode = _mode_for(target, new_mode, warn) if keep_mode else creation_mode(new_mode)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # a full disk: name the file
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    _fsync_folder(folder)


def real_file(path: Path) -> Path:
    """The file a write to `path` must replace: its final target when `path`
    is a symlink (a chain is followed to its end), else `path` itself."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve()
    except RuntimeError:  # a symlink loop, before Python 3.13 (which raises OSError)
        raise OSError(f"{path} is a symlink loop") from None


def _mode_for(target: Path, new_mode: int, warn: Warn | None) -> int:
    try:
        existing = target.stat().st_mode & 0o777
    except FileNotFoundError:
        return creation_mode(new_mode)
    warn_if_loose(target, warn)
    return existing


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
