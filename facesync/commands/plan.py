"""`facesync plan`: refresh, diff, print; optionally save the plan."""

from __future__ import annotations

import json
from pathlib import Path

import click

from facesync.commands.common import (
    check_inputs,
    connection,
    load,
    parse_targets,
    say,
    use_color,
)
from facesync.commands.face_checks import check_faces
from facesync.commands.options import GlobalOptions
from facesync.engine.checkpoint import recorded_state
from facesync.engine.planning import make_plan, moved_lock
from facesync.errors import EXIT_CHANGES, EXIT_OK
from facesync.plan.render import plan_to_json, render_human
from facesync.plan.saved import save_plan


def run(
    options: GlobalOptions,
    *,
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    refresh: bool,
    targets: tuple[str, ...],
    rebind: bool = False,
    adopt_groups: tuple[str, ...] = (),
    face_check: bool = True,
) -> int:
    wanted = parse_targets(targets)
    manifest = load(options)
    if face_check:
        check_faces(manifest, say=say)  # before any server call
    conn = connection(options)
    recorded = recorded_state(
        options.lock_path, "" if rebind else conn.identity, rebind=rebind, warn=say
    )
    lock, rebound = moved_lock(recorded, conn.identity, rebind)
    check_inputs(manifest, lock, wanted)
    plan = make_plan(
        manifest, lock, conn if refresh else None, options.lock_path, wanted, say=say,
        take_over=adopt_groups, rebound=rebound,
    )
    if as_json:
        click.echo(json.dumps(plan_to_json(plan), indent=2, sort_keys=True))
    else:
        click.echo(render_human(plan, color=use_color()))
    if out is not None:
        save_plan(plan, out)
        if not as_json:
            click.echo(f"\nSaved the plan to {out}; run `facesync apply {out}` to apply it.")
    return EXIT_CHANGES if detailed_exitcode and plan.has_changes else EXIT_OK
