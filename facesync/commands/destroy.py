"""`facesync destroy`: delete everything the lock manages (or the targets)."""

from __future__ import annotations

from dataclasses import replace

from facesync.commands.common import connection, load, parse_targets
from facesync.commands.options import GlobalOptions
from facesync.commands.terminal import TerminalUI, print_report
from facesync.engine.sync import SyncRequest, sync
from facesync.manifest.model import Manifest
from facesync.plan.model import Address


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


def run(options: GlobalOptions, *, yes: bool, parallelism: int, targets: tuple[str, ...]) -> int:
    wanted = parse_targets(targets)
    request = SyncRequest(
        manifest=without_targets(load(options), wanted), lock_path=options.lock_path,
        conn=connection(options), command="destroy", targets=wanted, parallelism=parallelism,
    )
    ui = TerminalUI(yes=yes, question="Do you really want to destroy these objects?")
    report = sync(request, ui)
    return 0 if report is None else print_report(report)
