"""Every path facesync keeps in the machine-local `.facesync/` folder.

The folder sits beside the manifest (hash cache, embedded emulator data) or
beside the lock file (journal, run lock), is kept out of Git by its own
`.gitignore`, and holds nothing that cannot be rebuilt except the journal's
pending intents (docs/recovery.md). Naming every file here keeps the layout
in one place: a new machine-local file gets its path from a function below.

What belongs to a lock file (run lock, journal, results log, checked note) is
keyed by the real file, symlinks resolved: a lock reached through a link and
through its target is one lock, with one run lock and one journal, kept in the
`.facesync/` beside the target. The folder is the owner's alone (0700).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from facesync.private_files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

LOCAL_DIR_NAME = ".facesync"
HASH_CACHE_FILE = "hashes.json"
EMULATOR_DIR = "emulator"


def local_dir(folder: Path) -> Path:
    """`.facesync/` inside `folder`, without creating it."""
    return folder / LOCAL_DIR_NAME


def ensure_local_dir(folder: Path) -> Path:
    """Create `.facesync/` in `folder` (and its `.gitignore`) if needed; return its path."""
    local = local_dir(folder)
    local.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    ignore = local / ".gitignore"
    if not ignore.is_file() or ignore.stat().st_size == 0:
        _write_new(ignore, b"# Machine-local caches of facesync; never commit them.\n*\n")
    return local


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` 0600 (as the umask allows) unless it exists already with
    content; a write cut short (a full disk) leaves no empty file behind, so
    the next run writes it again."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size == 0:
            path.unlink()  # left empty by a full disk: `.facesync/` would not be ignored
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def real_lock_path(lock_path: Path) -> Path:
    """The file behind `lock_path`, symlinks resolved (absolute): what every
    lock file's companion in `.facesync/` is keyed by."""
    try:
        return lock_path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reading the lock will say so
        return lock_path.absolute()


def hash_cache_path(manifest_folder: Path) -> Path:
    """The image hash cache of a manifest's folder (not created)."""
    return local_dir(manifest_folder) / HASH_CACHE_FILE


def face_cache_path(manifest_folder: Path) -> Path:
    """The faces the local detector found in a manifest's photos, by image key and
    detection model (not created): a warm plan checks faces without dlib."""
    return local_dir(manifest_folder) / "faces.cache"


def emulator_data_dir(manifest_folder: Path) -> Path:
    """Where the embedded emulator keeps its database; `.facesync/` is created."""
    return ensure_local_dir(manifest_folder) / EMULATOR_DIR


# The note the emulator owning a data folder leaves in it while it runs (URL, key,
# pid): facesync.emulator.server.SERVER_NOTE, which cannot import this module.
EMULATOR_NOTE = "server.json"


def emulator_note_path(manifest_folder: Path) -> Path:
    """The running emulator's note in the embedded default's data folder (not created)."""
    return local_dir(manifest_folder) / EMULATOR_DIR / EMULATOR_NOTE


def serve_data_dir() -> Path:
    """The default data folder of `facesync serve`: the embedded default's own,
    `.facesync/emulator` in the current folder (a relative path, shown as such in
    --help), so that a gallery moves between the two without re-creating anything."""
    return Path(LOCAL_DIR_NAME) / EMULATOR_DIR


def journal_path(lock_path: Path) -> Path:
    """The intent journal of a lock file; `.facesync/` is created."""
    real = real_lock_path(lock_path)
    return ensure_local_dir(real.parent) / f"journal-{real.name}.jsonl"


def lock_check_path(lock_path: Path) -> Path:
    """Where facesync notes the digest of the lock file's bytes it last found valid
    (not created): the same bytes need not be checked against the schema again."""
    real = real_lock_path(lock_path)
    return local_dir(real.parent) / f"checked-{real.name}"


def results_log_path(lock_path: Path, base_serial: int) -> Path:
    """One segment of a lock file's results log: the results recorded on top of
    the lock file's version `base_serial` (see facesync.state.results_log);
    `.facesync/` beside the real lock file is created."""
    real = real_lock_path(lock_path)
    return ensure_local_dir(real.parent) / f"results-{real.name}.{base_serial}.jsonl"


def results_log_segments(lock_path: Path) -> list[tuple[int, Path]]:
    """The results log segments that exist for a lock file, by base serial."""
    real = real_lock_path(lock_path)
    prefix = f"results-{real.name}."
    found = []
    try:
        entries = list(local_dir(real.parent).iterdir())
    except OSError:
        return []
    for path in entries:
        name = path.name
        if name.startswith(prefix) and name.endswith(".jsonl"):
            middle = name[len(prefix) : -len(".jsonl")]
            if middle.isdigit():
                found.append((int(middle), path))
    return sorted(found)


def run_lock_paths(lock_path: Path) -> tuple[Path, Path]:
    """The OS lock file and the holder note of a lock file's run lock (not created)."""
    real = real_lock_path(lock_path)
    local = local_dir(real.parent)
    stem = f"run-{real.name}"
    return local / f"{stem}.lock", local / f"{stem}.holder.json"
