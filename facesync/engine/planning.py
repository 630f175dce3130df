"""Plan one sync: refresh the server, read the journal, diff, add the warnings.

The pure diff (facesync.plan.diff) knows neither the server nor the journal;
this is where the three inputs meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from facesync.backends.base import FaceBackend
from facesync.backends.connect import open_backend
from facesync.backends.connection import Connection
from facesync.engine.refresh import refresh
from facesync.manifest.model import Manifest
from facesync.plan.danger import with_danger_warnings
from facesync.plan.diff import diff
from facesync.plan.model import Address, Plan
from facesync.state.journal import Journal, judge
from facesync.state.model import LockState


def plan_with_journal(
    backend: FaceBackend,
    manifest: Manifest,
    lock: LockState,
    journal: Journal | None,
    targets: Sequence[Address] = (),
    *,
    take_over: Sequence[str] = (),
    rebound: bool = False,
) -> tuple[Plan, int]:
    """Refresh and diff with the journal's pending intents; also the number of
    face GETs the refresh made to judge unrecorded faces (extra calls). The plan
    carries what the refresh proves of each intent (`Plan.judged`): apply narrows
    the journal with it once the plan runs."""
    intents = journal.pending() if journal is not None else ()
    observed = refresh(backend, manifest, lock, intents=intents)
    plan = diff(manifest, lock, observed, target=list(targets) or None, intents=intents,
                take_over=take_over, rebound=rebound)
    judged = judge(intents, observed, lock)
    return replace(plan, judged=tuple(sorted(judged.items()))), len(observed.faces_read)


def make_plan(
    manifest: Manifest,
    lock: LockState,
    conn: Connection | None,
    lock_path: Path,
    targets: Sequence[Address] = (),
    *,
    say: Callable[[str], None],
    take_over: Sequence[str] = (),
    rebound: bool = False,
) -> Plan:
    """What `facesync plan` shows: refresh (unless `conn` is None, --no-refresh)
    and diff, within the targets if any, judging what an interrupted apply left
    by the journal's pending intents (read only: a plan writes nothing); a plan
    that empties a group says so among its warnings. `take_over`, `rebound`: as
    facesync.plan.diff.diff."""
    if conn is None:
        plan = diff(manifest, lock, None, target=list(targets) or None, take_over=take_over)
    else:
        with open_backend(conn, manifest.folder, say=say) as backend:
            journal = Journal.for_lock(lock_path)
            plan, _ = plan_with_journal(backend, manifest, lock, journal, targets,
                                        take_over=take_over, rebound=rebound)
    return with_danger_warnings(plan, lock)



def moved_lock(recorded: LockState, endpoint: str, rebind: bool) -> tuple[LockState, bool]:
    """The lock state for `endpoint` (`recorded`: as the file has it, read with
    `rebind` when given), and whether --rebind moves it from another endpoint: the
    groups it records must then prove on the new one that they are facesync's
    (facesync.plan.adopt.check_rebound)."""
    if not rebind:
        return recorded, False
    moved = bool(recorded.endpoint) and recorded.endpoint != endpoint
    return replace(recorded, endpoint=endpoint), moved
