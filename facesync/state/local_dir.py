"""The machine-local `.facesync/` folder beside a manifest (hash cache,
embedded emulator data), kept out of Git by its own `.gitignore`."""

from __future__ import annotations

from pathlib import Path

LOCAL_DIR_NAME = ".facesync"


def ensure_local_dir(manifest_folder: Path) -> Path:
    """Create `.facesync/` (and its `.gitignore`) if needed; return its path."""
    local = manifest_folder / LOCAL_DIR_NAME
    local.mkdir(parents=True, exist_ok=True)
    ignore = local / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Machine-local caches of facesync; never commit them.\n*\n")
    return local
