"""`facesync destroy`: delete everything the lock manages (or the targets)."""

from __future__ import annotations

from dataclasses import replace

from facesync.manifest.model import Manifest
from facesync.plan.model import Address
from facesync.settings import Settings

from .apply import sync
from .common import connection, load, parse_targets


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
    return sync(
        settings, without_targets(load(settings), wanted), connection(settings),
        command="destroy", targets=wanted, yes=yes, parallelism=parallelism,
        question="Do you really want to destroy these objects?",
    )
