"""`facesync apply [PLAN]`: plan (or load a saved plan), confirm, execute,
record every id in the lock as it goes, train, reconcile lost answers with
extra passes (docs/recovery.md), report."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path

import click

from facesync.apply.converge import converge, plan_with_journal
from facesync.apply.executor import ApplyReport, execute
from facesync.apply.progress import make_progress, planned_calls
from facesync.backends.base import FaceBackend
from facesync.backends.connect import open_backend
from facesync.config import Connection
from facesync.manifest.model import Manifest
from facesync.plan.danger import with_danger_warnings
from facesync.plan.model import Action, Address, Plan
from facesync.plan.render import adoption_line, render_human, summary_line
from facesync.plan.saved import check_fresh, load_plan
from facesync.settings import Settings
from facesync.state.journal import Journal
from facesync.state.lock_update import finish
from facesync.state.run_lock import hold_run_lock

from .common import (
    LockWriter,
    check_inputs,
    confirm_plan,
    connection,
    load,
    parse_targets,
    read_state,
)


def run(
    settings: Settings,
    *,
    plan_file: Path | None,
    yes: bool,
    parallelism: int,
    rate: float | None,
    train: bool,
    wait: bool,
    targets: tuple[str, ...],
    rebind: bool = False,
) -> int:
    wanted = parse_targets(targets)
    manifest = load(settings)
    conn = connection(settings, rate)
    saved = load_plan(plan_file) if plan_file is not None else None
    return sync(
        settings, manifest, conn, command="apply", targets=wanted, yes=yes,
        parallelism=parallelism, train=train, wait=wait, saved=saved, rebind=rebind,
    )


def sync(
    settings: Settings,
    manifest: Manifest,
    conn: Connection,
    *,
    command: str,
    targets: list[Address],
    yes: bool,
    parallelism: int,
    train: bool = True,
    wait: bool = True,
    saved: Plan | None = None,
    rebind: bool = False,
    question: str = "Do you want to perform these actions?",
) -> int:
    """Under the run lock: plan (or take a checked saved plan), show it,
    confirm, execute with reconciling passes, report. apply and destroy
    differ only in the manifest they pass."""
    with hold_run_lock(settings.lock_path, command):
        lock = read_state(settings, conn, rebind=rebind)
        check_inputs(manifest, lock, targets)
        if saved is not None:  # checked before any server call
            check_fresh(
                saved, manifest_digest=manifest.digest, lock_serial=lock.serial,
                endpoint=conn.identity,
            )
            yes = True  # a saved plan counts as approved, as in Terraform
        journal = Journal.for_lock(settings.lock_path, warn=_warn)
        with open_backend(conn, manifest.folder, pool_size=parallelism) as backend, closing(
            journal
        ):
            reads = 0
            if saved is not None:
                plan = saved
            else:
                plan, reads = plan_with_journal(backend, manifest, lock, journal, targets)
                plan = with_danger_warnings(plan, lock)
            click.echo(render_human(plan, color=sys.stdout.isatty()))
            writer = LockWriter(settings.lock_path, lock)
            if not plan.has_changes:
                writer.replace_state(finish(writer.state, plan))
                if not targets:
                    journal.clear()  # nothing pending is left unjudged
                return 0
            confirm_plan(plan, lock, yes=yes, question=question)
            report = reconcile(
                plan, backend, writer, manifest=manifest, journal=journal, targets=targets,
                parallelism=parallelism, train=train, wait=wait, first_reads=reads,
            )
    return _report(report)


def reconcile(
    plan: Plan,
    backend: FaceBackend,
    writer: LockWriter,
    *,
    manifest: Manifest,
    journal: Journal,
    targets: list[Address],
    parallelism: int,
    train: bool = True,
    wait: bool = True,
    first_reads: int = 0,
) -> ApplyReport:
    """Run the plan, then extra passes while lost answers need reconciling. With
    targets, the journal keeps what the targets did not let the plan judge."""
    return converge(
        plan,
        backend,
        manifest=manifest,
        writer=writer,
        journal=journal,
        targets=targets,
        run=lambda p: run_plan(
            p, backend, writer, parallelism=parallelism, train=train, wait=wait, journal=journal
        ),
        announce=_announce,
        first_reads=first_reads,
        clear_journal=not targets,
    )


def run_plan(
    plan: Plan,
    backend: FaceBackend,
    writer: LockWriter,
    *,
    parallelism: int,
    train: bool = True,
    wait: bool = True,
    journal: Journal | None = None,
) -> ApplyReport:
    calls = sum(
        planned_calls(c) for c in plan.changes if train or c.action is not Action.TRAIN
    )
    with make_progress(calls, tty=sys.stdout.isatty()) as progress:
        return execute(
            plan,
            backend,
            checkpoint=writer.checkpoint,
            parallelism=parallelism,
            train=train,
            wait=wait,
            progress=progress,
            journal=journal,
        )


def _announce(text: str, plan: Plan | None) -> None:
    """Between passes: why; then what the new plan adopts and how much remains
    (`Pass 2: 2 to adopt, 0 to add, 0 to change, 0 to destroy, 1 to train.`)."""
    if plan is None:
        click.echo(f"\n{text}")
        return
    for update in plan.adoptions:
        click.echo(adoption_line(update))
    click.echo(f"{text}: {summary_line(plan).removeprefix('Plan: ')}")


def _warn(text: str) -> None:
    click.echo(text, err=True)


def recovery_line(report: ApplyReport) -> str | None:
    """`Recovered from 3 failed calls in 2 extra passes (14 extra calls).`, or
    `Adopted 2 objects left by an interrupted apply (3 extra calls).`; None when
    there was nothing to recover."""
    extra = report.passes - 1
    calls = f"({report.reconcile_calls} extra call{_s(report.reconcile_calls)})"
    if extra > 0:
        verb = "Recovered from" if report.ok else "Tried to recover from"
        return (
            f"{verb} {report.recovered} failed call{_s(report.recovered)} in {extra} extra "
            f"pass{'' if extra == 1 else 'es'} {calls}."
        )
    if report.adopted:
        return (
            f"Adopted {report.adopted} object{_s(report.adopted)} left by an interrupted "
            f"apply {calls}."
        )
    return None


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _report(report: ApplyReport) -> int:
    done = [c for c in report.succeeded if c.action is not Action.TRAIN]
    counts = Plan(changes=tuple(done)).counts()
    click.echo(
        f"\nApply {'complete' if report.ok else 'incomplete'}! Resources: "
        f"{counts['add']} added, {counts['change']} changed, {counts['destroy']} destroyed."
    )
    recovered = recovery_line(report)
    if recovered:
        click.echo(recovered)
    for group_id, info in sorted(report.training.items()):
        click.echo(f"Training of {group_id}: {info.status}.")
    for _change, error in report.failed:
        click.echo(f"Error: {error}", err=True)
    if report.skipped:
        click.echo(
            f"{len(report.skipped)} change(s) skipped because they depend on a failed one; "
            "fix the error above and run apply again.",
            err=True,
        )
    return 0 if report.ok else 1
