"""What several commands share: reading their inputs and refusing bad ones
before any server call, and how the run prints (--quiet, --no-color)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

import click

from facesync.backends.connection import Connection, resolve_connection
from facesync.commands.options import GlobalOptions
from facesync.engine.checkpoint import recorded_state
from facesync.errors import UsageError
from facesync.manifest.load import load_manifest
from facesync.manifest.model import Manifest
from facesync.plan.diff import check_targets
from facesync.plan.model import Address
from facesync.state.model import LockState


def load(options: GlobalOptions) -> Manifest:
    return load_manifest(options.manifest_path, allow_outside=options.allow_outside)


def connection(options: GlobalOptions, rate: float | None = None) -> Connection:
    return resolve_connection(options.endpoint, options.key_file, options.tier, rate,
                              manifest_folder=options.named_manifest.parent)


def read_state(options: GlobalOptions, conn: Connection, *, rebind: bool = False) -> LockState:
    """The lock file's state, with what an interrupted apply logged (read only)."""
    return recorded_state(options.lock_path, conn.identity, rebind=rebind, warn=say)


def check_inputs(manifest: Manifest, lock: LockState, targets: Sequence[Address]) -> None:
    """What can be refused before any server call (a mistyped --target)."""
    check_targets(list(targets), manifest, lock)


@dataclass
class _Output:
    quiet: bool = False
    no_color: bool = False


# One run is one process: --quiet and --no-color hold for every line it prints,
# also for the notes the engine and the backends hand to `say` as a callback.
_OUTPUT = _Output()


def set_output(options: GlobalOptions) -> None:
    """Take --quiet and --no-color from the run's options (the CLI calls it first)."""
    _OUTPUT.quiet = options.quiet
    _OUTPUT.no_color = options.no_color


def use_color(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never with --no-color or a non-empty
    NO_COLOR in the environment (no-color.org)."""
    if _OUTPUT.no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(sys.stdout if stream is None else stream, "isatty", None)
    return bool(isatty is not None and isatty())


def is_warning(text: str) -> bool:
    """Warnings and errors start so (`warning: ...`, `Warning: ...`); --quiet keeps them."""
    return text.lstrip().lower().startswith(("warning", "error"))


def say(text: str) -> None:
    """A note about how the command runs (which backend, a journal problem): stderr,
    so that stdout holds only the command's own output (a plan, --json). --quiet
    drops the informational ones."""
    if _OUTPUT.quiet and not is_warning(text):
        return
    click.echo(text, err=True)


def parse_targets(targets: Sequence[str]) -> list[Address]:
    parsed = []
    for text in targets:
        address = Address.parse_target(text)
        if not address.group or "/" in (address.person or ""):
            raise UsageError(f"--target {text!r} must be GROUP or GROUP/PERSON")
        parsed.append(address)
    return parsed
