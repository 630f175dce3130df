"""One sync, start to end: the only place where manifest, lock file, journal,
server and plan meet.

Under the run lock: read the lock file, check the inputs, plan (or take a
saved plan that is still fresh), show it, get it approved, execute it with
reconciling passes (facesync.engine.converge), record every id as it goes.
`apply` and `destroy` differ only in the manifest they pass. Whatever a
person sees or types goes through a `SyncUI`, so the engine knows no
terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from facesync.backends.base import FaceBackend
from facesync.backends.connect import open_backend
from facesync.backends.connection import Connection
from facesync.engine.checkpoint import LockFileWriter, recover
from facesync.engine.converge import converge
from facesync.engine.events import ChangeEvents, total_calls
from facesync.engine.executor import ApplyReport, execute
from facesync.engine.planning import moved_lock, plan_with_journal
from facesync.engine.record import finish
from facesync.manifest.model import Manifest
from facesync.plan.danger import with_danger_warnings
from facesync.plan.diff import check_targets
from facesync.plan.model import Address, Plan
from facesync.plan.saved import check_fresh
from facesync.plan.saved_trust import check_against_lock
from facesync.state.journal import Journal
from facesync.state.lock_file import read_lock
from facesync.state.model import LockState
from facesync.state.run_lock import hold_run_lock


class SyncUI(Protocol):
    """What a sync shows and asks; the command layer implements it."""

    def show_plan(self, plan: Plan) -> None: ...

    def approve(self, plan: Plan, lock: LockState) -> None:
        """Return when approved; raise a FacesyncError to refuse."""

    def progress(self, total_calls: int) -> AbstractContextManager[ChangeEvents]: ...

    def announce(self, text: str, plan: Plan | None) -> None:
        """Between passes: why another pass runs, then what it adopts and does."""

    def warn(self, text: str) -> None: ...


@dataclass(frozen=True)
class SyncRequest:
    """What to sync: the desired state, where its lock file is, which server."""

    manifest: Manifest
    lock_path: Path
    conn: Connection
    command: str  # "apply" or "destroy", named in the run lock's holder note
    targets: Sequence[Address] = ()
    parallelism: int = 8
    train: bool = True
    wait: bool = True
    saved: Plan | None = None  # a plan saved by `plan -o`: approved already
    rebind: bool = False
    take_over: Sequence[str] = ()  # --adopt-group: groups to take over (facesync.plan.diff)


def sync(request: SyncRequest, ui: SyncUI) -> ApplyReport | None:
    """Run one sync; None when the plan had nothing to change."""
    r = request
    # A saved plan made with --target judges only its targets, as `apply --target` does.
    targets = list(r.targets) or (list(r.saved.targets) if r.saved is not None else [])
    with hold_run_lock(r.lock_path, r.command):
        recorded = read_lock(r.lock_path, "" if r.rebind else r.conn.identity, rebind=r.rebind)
        if r.saved is not None:  # checked before any server call
            check_fresh(
                r.saved, manifest_digest=r.manifest.digest, lock_serial=recorded.serial,
                endpoint=r.conn.identity,
            )
        # What a killed apply logged, folded into the lock file as it was written (a
        # refused --rebind leaves it for its old endpoint); then moved if asked.
        recorded = recover(r.lock_path, recorded, warn=ui.warn)
        lock, rebound = moved_lock(recorded, r.conn.identity, r.rebind)
        if r.saved is not None:  # its payloads go into URLs as they are: they must fit
            check_against_lock(r.saved, lock)
        check_targets(targets, r.manifest, lock)
        journal = Journal.for_lock(r.lock_path, warn=ui.warn)
        with open_backend(
            r.conn, r.manifest.folder, say=ui.warn, pool_size=r.parallelism
        ) as backend, closing(journal):
            reads = 0
            if r.saved is not None:
                plan = r.saved
            else:
                plan, reads = plan_with_journal(
                    backend, r.manifest, lock, journal, targets, take_over=r.take_over,
                    rebound=rebound,
                )
                plan = with_danger_warnings(plan, lock)
            ui.show_plan(plan)
            with LockFileWriter(r.lock_path, lock, warn=ui.warn) as writer:
                if not plan.has_changes:
                    writer.replace_state(finish(writer.state, plan))
                    if rebound:
                        writer.write_now()  # the move is recorded: --rebind is not needed again
                    if not targets:
                        journal.clear()  # nothing pending is left unjudged
                    else:
                        journal.narrow(dict(plan.judged))
                    return None
                if r.saved is None:  # a saved plan counts as approved, as in Terraform
                    ui.approve(plan, lock)
                return _reconcile(plan, backend, writer, r, journal, ui, targets=targets,
                                  first_reads=reads)


def _reconcile(
    plan: Plan,
    backend: FaceBackend,
    writer: LockFileWriter,
    r: SyncRequest,
    journal: Journal,
    ui: SyncUI,
    *,
    targets: list[Address],
    first_reads: int,
) -> ApplyReport:
    """Run the plan, then extra passes while lost answers need reconciling. With
    targets, the journal keeps what the targets did not let the plan judge."""

    def run(p: Plan) -> ApplyReport:
        with ui.progress(total_calls(p.changes, train=r.train)) as events:
            return execute(
                p, backend, checkpoint=writer.checkpoint, parallelism=r.parallelism,
                train=r.train, wait=r.wait, progress=events, journal=journal,
            )

    return converge(
        plan, backend, manifest=r.manifest, writer=writer, journal=journal,
        targets=targets, run=run, announce=ui.announce, first_reads=first_reads,
        clear_journal=not targets,
    )

