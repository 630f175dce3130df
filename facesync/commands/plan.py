"""`facesync plan`: refresh, diff, print; optionally save the plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from facesync.backends.connect import open_backend
from facesync.plan.render import plan_to_json, render_human
from facesync.plan.saved import save_plan
from facesync.settings import Settings
from facesync.state.journal import Journal

from .common import check_inputs, connection, load, make_plan, parse_targets, read_state

EXIT_CHANGES = 2


def run(
    settings: Settings,
    *,
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    refresh: bool,
    targets: tuple[str, ...],
    rebind: bool = False,
) -> int:
    wanted = parse_targets(targets)
    manifest = load(settings)
    conn = connection(settings)
    lock = read_state(settings, conn, rebind=rebind)
    check_inputs(manifest, lock, wanted)
    if refresh:
        with open_backend(conn, manifest.folder) as backend:
            journal = Journal.for_lock(settings.lock_path)  # read only: plan writes nothing
            plan = make_plan(manifest, lock, backend, wanted, journal)
    else:
        plan = make_plan(manifest, lock, None, wanted)
    if as_json:
        click.echo(json.dumps(plan_to_json(plan), indent=2, sort_keys=True))
    else:
        click.echo(render_human(plan, color=sys.stdout.isatty()))
    if out is not None:
        save_plan(plan, out)
        if not as_json:
            click.echo(f"\nSaved the plan to {out}; run `facesync apply {out}` to apply it.")
    return EXIT_CHANGES if detailed_exitcode and plan.has_changes else 0
