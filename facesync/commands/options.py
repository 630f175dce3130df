"""The global options of a run, wherever on the command line they were given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facesync.errors import UsageError
from facesync.state.lock_file import lock_path_for

DEFAULT_MANIFEST = Path("facesync.yaml")


@dataclass
class GlobalOptions:
    """`-m`, `--lock`, `--endpoint`, ...: set by the CLI, read by every command.
    Where calls go (endpoint, key, tier) is resolved from these by
    facesync.backends.connection."""

    manifest: Path | None = None
    lock: Path | None = None
    endpoint: str | None = None
    key_file: Path | None = None
    tier: str | None = None
    allow_outside: bool = False
    debug: bool = False
    quiet: bool = False  # --quiet: no informational notes (warnings and errors stay)
    no_color: bool = False  # --no-color (NO_COLOR in the environment does the same)

    @property
    def manifest_path(self) -> Path:
        path = self.named_manifest
        if not path.exists():
            hint = "" if self.manifest else " (pass -m/--manifest to name another file)"
            raise UsageError(f"manifest {path} does not exist{hint}")
        return path

    @property
    def named_manifest(self) -> Path:
        """The manifest's path, whether or not it exists (destroy works without it)."""
        return self.manifest or DEFAULT_MANIFEST

    @property
    def lock_path(self) -> Path:
        """--lock, else the lock beside the manifest (named even when the manifest
        is gone, so that destroy can work from the lock alone)."""
        return self.lock or lock_path_for(self.named_manifest)
