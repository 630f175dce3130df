"""`facesync apply [PLAN]`: plan (or load a saved plan), confirm, execute,
record every id in the lock as it goes, train, reconcile lost answers with
extra passes (docs/recovery.md), report. The work is facesync.engine.sync."""

from __future__ import annotations

from pathlib import Path

from facesync.commands.common import connection, load, parse_targets, say
from facesync.commands.face_checks import check_faces
from facesync.commands.options import GlobalOptions
from facesync.commands.terminal import TerminalUI, print_report
from facesync.engine.sync import SyncRequest, sync
from facesync.plan.saved import load_plan


def run(
    options: GlobalOptions,
    *,
    plan_file: Path | None,
    yes: bool,
    parallelism: int,
    rate: float | None,
    train: bool,
    wait: bool,
    targets: tuple[str, ...],
    rebind: bool = False,
    adopt_groups: tuple[str, ...] = (),
    face_check: bool = True,
) -> int:
    wanted = parse_targets(targets)
    manifest = load(options)
    if face_check:
        check_faces(manifest, say=say)  # before any server call
    conn = connection(options, rate)
    saved = load_plan(plan_file) if plan_file is not None else None
    request = SyncRequest(
        manifest=manifest, lock_path=options.lock_path, conn=conn, command="apply",
        targets=wanted, parallelism=parallelism, train=train, wait=wait, saved=saved,
        rebind=rebind, take_over=adopt_groups,
    )
    report = sync(request, TerminalUI(yes=yes))
    return 0 if report is None else print_report(report)
