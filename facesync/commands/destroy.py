"""`facesync destroy`: delete everything the lock manages (or the targets).

What is deleted is decided by the lock, so destroy works from the lock alone:
without targets the manifest is not read at all (its photos may be gone);
with targets it is read for what stays (whose groups are trained after),
and when it cannot be read the targets are destroyed from the lock anyway.
"""

from __future__ import annotations

from dataclasses import replace

from facesync.commands.common import connection, load, parse_targets, read_state, say
from facesync.commands.options import GlobalOptions
from facesync.commands.terminal import DestroyUI, print_destroy_report
from facesync.engine.sync import SyncRequest, sync
from facesync.errors import FacesyncError
from facesync.manifest.model import DesiredGroup, Manifest
from facesync.plan.model import Address
from facesync.state.model import LockState


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


def desired_after_destroy(options: GlobalOptions, targets: list[Address]) -> Manifest:
    """What should remain: nothing (without targets, no manifest read), or the
    manifest minus the targets; the lock alone when the manifest cannot be read."""
    nothing = Manifest(path=options.named_manifest, digest="", groups=())
    if not targets:
        return nothing
    try:
        return without_targets(load(options), targets)
    except FacesyncError as exc:
        first = exc.message.splitlines()[0] if exc.message else type(exc).__name__
        say(
            f"Warning: the manifest cannot be read ({first}); destroying the targets "
            "from the lock alone, and their groups are not trained afterwards "
            "(run facesync apply once the manifest is fixed)."
        )
    lock = read_state(options, connection(options))
    return replace(nothing, groups=_groups_kept_for(targets, lock))


def _groups_kept_for(targets: list[Address], lock: LockState) -> tuple[DesiredGroup, ...]:
    """The groups that only lose some persons, as the lock records them with no
    persons: the plan, narrowed to the targets, then deletes just those persons."""
    whole = {t.group for t in targets if t.person is None}
    kept = []
    for group_id in sorted({t.group for t in targets} - whole):
        have = lock.group(group_id)
        if have is not None:
            kept.append(DesiredGroup(group_id, name=group_id, kind=have.kind,
                                     recognition_model=have.recognition_model))
    return tuple(kept)


def run(options: GlobalOptions, *, yes: bool, parallelism: int, targets: tuple[str, ...]) -> int:
    wanted = parse_targets(targets)
    request = SyncRequest(
        manifest=desired_after_destroy(options, wanted), lock_path=options.lock_path,
        conn=connection(options), command="destroy", targets=wanted, parallelism=parallelism,
    )
    ui = DestroyUI(yes=yes)
    report = sync(request, ui)
    return 0 if report is None else print_destroy_report(report, ui.contents)
