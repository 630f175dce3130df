"""`facesync apply [PLAN]`: plan (or load a saved plan), confirm, execute,
record every id in the lock as it goes, train, report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from facesync.apply.executor import ApplyReport, execute
from facesync.apply.progress import make_progress, planned_calls
from facesync.backends.connect import open_backend
from facesync.backends.http import HttpBackend
from facesync.plan.model import Action, Plan
from facesync.plan.render import render_human
from facesync.plan.saved import check_fresh, load_plan
from facesync.settings import Settings
from facesync.state.lock_update import finish
from facesync.state.run_lock import hold_run_lock

from .common import LockWriter, confirm, connection, load, make_plan, parse_targets, read_state


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
    with hold_run_lock(settings.lock_path, "apply"):
        lock = read_state(settings, conn, rebind=rebind)
        with open_backend(conn, manifest.folder, pool_size=parallelism) as backend:
            if plan_file is not None:
                plan = load_plan(plan_file)
                check_fresh(
                    plan,
                    manifest_digest=manifest.digest,
                    lock_serial=lock.serial,
                    endpoint=conn.identity,
                )
                yes = True  # a saved plan counts as approved, as in Terraform
            else:
                plan = make_plan(manifest, lock, backend, wanted)
            click.echo(render_human(plan, color=sys.stdout.isatty()))
            writer = LockWriter(settings.lock_path, lock)
            if not plan.has_changes:
                writer.replace_state(finish(writer.state, plan))
                return 0
            confirm("Do you want to perform these actions?", yes=yes)
            report = run_plan(plan, backend, writer, parallelism=parallelism, train=train,
                              wait=wait)
            writer.replace_state(finish(writer.state, plan))
    return _report(report)


def run_plan(
    plan: Plan,
    backend: HttpBackend,
    writer: LockWriter,
    *,
    parallelism: int,
    train: bool = True,
    wait: bool = True,
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
        )


def _report(report: ApplyReport) -> int:
    done = [c for c in report.succeeded if c.action is not Action.TRAIN]
    counts = Plan(changes=tuple(done)).counts()
    click.echo(
        f"\nApply {'complete' if report.ok else 'incomplete'}! Resources: "
        f"{counts['add']} added, {counts['change']} changed, {counts['destroy']} destroyed."
    )
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
