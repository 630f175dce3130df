"""Plan one sync: refresh the server, read the journal, diff, add the warnings.

The pure diff (facesync.plan.diff) knows neither the server nor the journal;
this is where the three inputs meet.
"""

from __future__ import annotations

from collections.abc import Sequence

from facesync.backends.base import FaceBackend
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
