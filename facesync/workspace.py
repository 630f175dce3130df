"""Every path facesync keeps in the machine-local `.facesync/` folder.

The folder sits beside the manifest (hash cache, embedded emulator data) or
beside the lock file (journal, run lock), is kept out of Git by its own
`.gitignore`, and holds nothing that cannot be rebuilt except the journal's
pending intents (docs/recovery.md). Naming every file here keeps the layout
in one place: a new machine-local file gets its path from a function below.
"""

from __future__ import annotations

from pathlib import Path

LOCAL_DIR_NAME = ".facesync"
HASH_CACHE_FILE = "hashes.json"
EMULATOR_DIR = "emulator"
SERVE_DIR = "serve"


def local_dir(folder: Path) -> Path:
    """`.facesync/` inside `folder`, without creating it."""
    return folder / LOCAL_DIR_NAME


def ensure_local_dir(folder: Path) -> Path:
    """Create `.facesync/` in `folder` (and its `.gitignore`) if needed; return its path."""
    local = local_dir(folder)
    local.mkdir(parents=True, exist_ok=True)
    ignore = local / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Machine-local caches of facesync; never commit them.\n*\n")
    return local


def hash_cache_path(manifest_folder: Path) -> Path:
    """The image hash cache of a manifest's folder (not created)."""
    return local_dir(manifest_folder) / HASH_CACHE_FILE


def emulator_data_dir(manifest_folder: Path) -> Path:
    """Where the embedded emulator keeps its database; `.facesync/` is created."""
    return ensure_local_dir(manifest_folder) / EMULATOR_DIR


def serve_data_dir() -> Path:
    """The default data folder of `facesync serve`: `.facesync/serve` in the
    current folder (a relative path, shown as such in --help)."""
    return Path(LOCAL_DIR_NAME) / SERVE_DIR


def journal_path(lock_path: Path) -> Path:
    """The intent journal of a lock file; `.facesync/` is created."""
    return ensure_local_dir(lock_path.parent) / f"journal-{lock_path.name}.jsonl"


def lock_check_path(lock_path: Path) -> Path:
    """Where facesync notes the digest of the lock file's bytes it last found valid
    (not created): the same bytes need not be checked against the schema again."""
    return local_dir(lock_path.parent) / f"checked-{lock_path.name}"


def results_log_path(lock_path: Path, base_serial: int) -> Path:
    """One segment of a lock file's results log: the results recorded on top of
    the lock file's version `base_serial` (see facesync.state.results_log)."""
    return local_dir(lock_path.parent) / f"results-{lock_path.name}.{base_serial}.jsonl"


def results_log_segments(lock_path: Path) -> list[tuple[int, Path]]:
    """The results log segments that exist for a lock file, by base serial."""
    prefix = f"results-{lock_path.name}."
    found = []
    try:
        entries = list(local_dir(lock_path.parent).iterdir())
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
    local = local_dir(lock_path.resolve().parent)
    stem = f"run-{lock_path.name}"
    return local / f"{stem}.lock", local / f"{stem}.holder.json"
