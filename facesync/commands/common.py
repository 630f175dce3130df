"""What several commands share: loading inputs, planning, approving a plan,
and writing the lock as apply goes (one checkpoint per successful server call)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import click

from facesync.apply.converge import plan_with_journal
from facesync.backends.base import FaceBackend
from facesync.config import Connection, resolve_connection
from facesync.errors import UsageError
from facesync.manifest.load import load_manifest
from facesync.manifest.model import Manifest
from facesync.plan.danger import dangerous_groups, with_danger_warnings
from facesync.plan.diff import check_targets, diff
from facesync.plan.model import Address, Change, Plan
from facesync.settings import Settings
from facesync.state.journal import Journal
from facesync.state.lock import read_lock, write_lock
from facesync.state.lock_update import record
from facesync.state.model import LockState


def load(settings: Settings) -> Manifest:
    return load_manifest(settings.manifest_path, allow_outside=settings.allow_outside)


def connection(settings: Settings, rate: float | None = None) -> Connection:
    return resolve_connection(settings.endpoint, settings.key_file, settings.tier, rate)


def read_state(settings: Settings, conn: Connection, *, rebind: bool = False) -> LockState:
    return read_lock(settings.lock_path, conn.identity, rebind=rebind)


def check_inputs(manifest: Manifest, lock: LockState, targets: Sequence[Address]) -> None:
    """What can be refused before any server call (a mistyped --target)."""
    check_targets(list(targets), manifest, lock)


def parse_targets(targets: Sequence[str]) -> list[Address]:
    parsed = []
    for text in targets:
        address = Address.parse_target(text)
        if not address.group or "/" in (address.person or ""):
            raise UsageError(f"--target {text!r} must be GROUP or GROUP/PERSON")
        parsed.append(address)
    return parsed


def make_plan(
    manifest: Manifest,
    lock: LockState,
    backend: FaceBackend | None,
    targets: Sequence[Address] = (),
    journal: Journal | None = None,
) -> Plan:
    """Refresh (unless backend is None) and diff, within the targets if any,
    judging what an interrupted apply left by the journal's pending intents; a
    plan that empties a group says so among its warnings."""
    if backend is None:
        plan = diff(manifest, lock, None, target=list(targets) or None)
    else:
        plan, _ = plan_with_journal(backend, manifest, lock, journal, targets)
    return with_danger_warnings(plan, lock)


class LockWriter:
    """Records each successful mutation in the lock file at once (thread-safe),
    so an interrupted apply loses no id."""

    def __init__(self, path: Path, state: LockState) -> None:
        self.path = path
        self.state = state
        self._mutex = threading.Lock()

    def checkpoint(self, change: Change, result: dict) -> None:
        with self._mutex:
            self.state = write_lock(self.path, record(self.state, change, result))

    def replace_state(self, state: LockState) -> None:
        """Write `state` if it differs from what is recorded (lock-only updates)."""
        with self._mutex:
            if state != self.state:
                self.state = write_lock(self.path, state)


def confirm(question: str, *, yes: bool, expected: str = "yes") -> None:
    """Ask on a TTY; refuse without one unless --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to change anything without confirmation: "
            "run on a terminal to be asked, or pass --yes"
        )
    click.echo(f"\n{question}\n  Only '{expected}' will be accepted to approve.\n")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != expected:
        raise UsageError("cancelled: nothing was changed")


def confirm_plan(
    plan: Plan,
    lock: LockState,
    *,
    yes: bool,
    question: str = "Do you want to perform these actions?",
) -> None:
    """Approve a plan: --yes, or an answer typed on a terminal; never without one.

    The answer is `yes`, except for a plan that deletes, replaces or empties a
    managed group (facesync.plan.danger): then the user types that group's id, or all
    such ids in one answer (separated by spaces or commas, in any order), so
    that a whole gallery is never lost to a reflex `yes`.
    """
    if yes:
        return
    at_risk = dangerous_groups(plan, lock)
    if not at_risk:
        confirm(question, yes=False)
        return
    one = len(at_risk) == 1
    names = ("group " if one else "groups ") + ", ".join(f"'{g}'" for g in at_risk)
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to delete or empty {names} without confirmation: "
            f"run on a terminal and type {'its id' if one else 'their ids'} when asked, "
            "or pass --yes"
        )
    click.echo(
        f"\n{question}\n  This plan deletes, replaces or empties {names}, with the persons "
        f"and faces in {'it' if one else 'them'}.\n  Type "
        f"{'its id' if one else 'their ids, separated by spaces,'} to approve: "
        f"{' '.join(at_risk)}\n"
    )
    answer = click.prompt("  Enter a value", default="", show_default=False)
    typed = answer.replace(",", " ").split()
    if sorted(set(typed)) != at_risk or len(typed) != len(at_risk):
        shown = repr(answer.strip()) if answer.strip() else "nothing"
        raise UsageError(
            f"cancelled: you typed {shown}, not {' '.join(at_risk)!r}; nothing was changed"
        )
