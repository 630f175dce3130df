"""Plans that wipe out a gallery: the groups a user must name to approve them.

A group is at risk when the plan deletes or replaces it (everything in it
goes, persons facesync does not manage too) or deletes every person the lock
manages in it (the group stays, but nobody facesync enrolled can be
identified any more). `apply` asks for these group ids to be typed instead
of `yes`. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from facesync.plan.model import Action, LockAction, Plan, ResourceType
from facesync.state.model import LockState

_WIPES_GROUP = (Action.DELETE, Action.REPLACE)


def dangerous_groups(plan: Plan, lock: LockState) -> list[str]:
    """The ids of the groups the plan deletes, replaces or empties, sorted."""
    return sorted(_wiped_groups(plan) | set(_emptied_groups(plan, lock)))


def danger_warnings(plan: Plan, lock: LockState) -> list[str]:
    """Loud notes for emptied groups (the diff already warns of group deletes
    and replacements)."""
    wiped = _wiped_groups(plan)
    notes = []
    for group_id, count in sorted(_emptied_groups(plan, lock).items()):
        if group_id in wiped:
            continue
        persons = "the only person" if count == 1 else f"all {count} persons"
        notes.append(
            f"Deleting {persons} this lock manages in group '{group_id}' deletes their faces "
            "too: nobody facesync enrolled there can be identified afterwards."
        )
    return notes


def with_danger_warnings(plan: Plan, lock: LockState) -> Plan:
    """`plan` with danger_warnings() added to its warnings (once)."""
    extra = [w for w in danger_warnings(plan, lock) if w not in plan.warnings]
    return replace(plan, warnings=plan.warnings + tuple(extra)) if extra else plan


def _wiped_groups(plan: Plan) -> set[str]:
    return {
        c.address.group
        for c in plan.changes
        if c.address.type is ResourceType.GROUP and c.action in _WIPES_GROUP
    }


def _emptied_groups(plan: Plan, lock: LockState) -> dict[str, int]:
    """Groups whose every recorded person the plan deletes (or forgets, when the
    server lost it already), with at least one real delete: id -> persons deleted."""
    deleted: dict[str, set[str]] = {}
    for c in plan.changes:
        if c.address.type is ResourceType.PERSON and c.action is Action.DELETE:
            deleted.setdefault(c.address.group, set()).add(c.address.person or "")
    forgotten = {
        (u.address.group, u.address.person)
        for u in plan.lock_updates
        if u.action is LockAction.FORGET and u.address.type is ResourceType.PERSON
    }
    emptied = {}
    for group_id, keys in deleted.items():
        locked = lock.group(group_id)
        if locked is None:
            continue
        gone = keys | {p for g, p in forgotten if g == group_id}
        if all(p.key in gone for p in locked.persons):
            emptied[group_id] = len(keys)
    return emptied
