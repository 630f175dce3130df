"""Plan one sync: refresh the server, read the journal, diff, add the warnings.

The pure diff (facesync.plan.diff) knows neither the server nor the journal;
this is where the three inputs meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from facesync.backends.base import FaceBackend
from facesync.backends.connect import open_backend
from facesync.backends.connection import Connection
from facesync.engine.refresh import refresh
from facesync.manifest.model import Manifest
from facesync.plan.danger import with_danger_warnings
from facesync.plan.diff import diff
from facesync.plan.model import Address, Plan
from facesync.state.journal import Journal
from facesync.state.model import LockState


def plan_with_journal(
    backend: FaceBackend,
    manifest: Manifest,
    lock: LockState,
    journal: Journal | None,
    targets: Sequence[Address] = (),
) -> tuple[Plan, int]:
    """Refresh and diff with the journal's pending intents; also the number of
    face GETs the refresh made to judge unrecorded faces (extra calls)."""
    intents = journal.pending() if journal is not None else ()
    observed = refresh(backend, manifest, lock, intents=intents)
    plan = diff(manifest, lock, observed, target=list(targets) or None, intents=intents)
    return plan, len(observed.faces_read)


def make_plan(
    manifest: Manifest,
    lock: LockState,
    conn: Connection | None,
    lock_path: Path,
    targets: Sequence[Address] = (),
    *,
    say: Callable[[str], None],
) -> Plan:
    """What `facesync plan` shows: refresh (unless `conn` is None, --no-refresh)
    and diff, within the targets if any, judging what an interrupted apply left
    by the journal's pending intents (read only: a plan writes nothing); a plan
    that empties a group says so among its warnings."""
    if conn is None:
        plan = diff(manifest, lock, None, target=list(targets) or None)
    else:
        with open_backend(conn, manifest.folder, say=say) as backend:
            journal = Journal.for_lock(lock_path)
            plan, _ = plan_with_journal(backend, manifest, lock, journal, targets)
    return with_danger_warnings(plan, lock)
