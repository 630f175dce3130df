"""`facesync destroy`: delete everything the lock manages (or the targets)."""

from __future__ import annotations

import sys
from contextlib import closing
from dataclasses import replace

import click

from facesync.apply.converge import plan_with_journal
from facesync.backends.connect import open_backend
from facesync.manifest.model import Manifest
from facesync.plan.danger import with_danger_warnings
from facesync.plan.model import Address
from facesync.plan.render import render_human
from facesync.settings import Settings
from facesync.state.journal import Journal
from facesync.state.lock_update import finish
from facesync.state.run_lock import hold_run_lock

from .apply import _report, _warn, reconcile
from .common import (
    LockWriter,
    check_inputs,
    confirm_plan,
    connection,
    load,
    parse_targets,
    read_state,
)


def without_targets(manifest: Manifest, targets: list[Address]) -> Manifest:
    """The manifest with the targeted groups/persons removed (all of it without targets)."""
    if not targets:
        return replace(manifest, groups=())
    groups = []
    for group in manifest.groups:
        if any(t.group == group.group_id and t.person is None for t in targets):
            continue
        drop = {t.person for t in targets if t.group == group.group_id}
        groups.append(replace(group, persons=tuple(p for p in group.persons if p.key not in drop)))
    return replace(manifest, groups=tuple(groups))


def run(settings: Settings, *, yes: bool, parallelism: int, targets: tuple[str, ...]) -> int:
    wanted = parse_targets(targets)
    manifest = without_targets(load(settings), wanted)
    conn = connection(settings)
    with hold_run_lock(settings.lock_path, "destroy"):
        lock = read_state(settings, conn)
        check_inputs(manifest, lock, wanted)
        journal = Journal.for_lock(settings.lock_path, warn=_warn)
        with open_backend(conn, manifest.folder, pool_size=parallelism) as backend, closing(
            journal
        ):
            plan, reads = plan_with_journal(backend, manifest, lock, journal, wanted)
            plan = with_danger_warnings(plan, lock)
            click.echo(render_human(plan, color=sys.stdout.isatty()))
            writer = LockWriter(settings.lock_path, lock)
            if not plan.has_changes:
                writer.replace_state(finish(writer.state, plan))
                return 0
            confirm_plan(
                plan, lock, yes=yes, question="Do you really want to destroy these objects?"
            )
            report = reconcile(
                plan, backend, writer, manifest=manifest, journal=journal, targets=wanted,
                parallelism=parallelism, first_reads=reads,
            )
    return _report(report)
