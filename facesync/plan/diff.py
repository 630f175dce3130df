"""The plan: a pure function of (manifest, lock, observed server state).

The lock says what facesync manages; the observed state says what still
exists (drift is the difference between the two); the manifest says what
should. Only what the lock manages is ever changed or deleted, plus what
is provably facesync's own although the lock never recorded it (a marker,
or a pending journal intent): that is adopted or, if unwanted, deleted
(facesync.plan.adopt). With `observed=None` (--no-refresh) the manifest is
compared with the lock alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from facesync.digest import text_digest
from facesync.errors import PlanError
from facesync.manifest.model import DesiredGroup, Manifest
from facesync.plan.adopt import adopt_group, adopt_members, check_rebound
from facesync.plan.diff_members import (
    DRIFT,
    GONE,
    REMOVED,
    Collector,
    create_person,
    describe_update,
    diff_persons,
    same_digest,
    same_text,
    unmanaged_persons,
)
from facesync.plan.downscale import downscale_notes
from facesync.plan.model import (
    Action,
    Address,
    Change,
    LockAction,
    LockUpdate,
    Plan,
    ResourceType,
    Unmanaged,
)
from facesync.plan.payloads import Forget, GroupRef, GroupSpec, GroupUpdate, TrainSpec
from facesync.state.journal import Intent
from facesync.state.model import LockedGroup, LockState, ObservedGroup, ObservedState

_ACTION_RANK = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3,
                Action.TRAIN: 4}
# Changes after which the group's training no longer matches its persons and faces.
_RETRAIN = (Action.CREATE, Action.REPLACE, Action.DELETE)


def diff(
    manifest: Manifest,
    lock: LockState,
    observed: ObservedState | None,
    *,
    target: Address | Sequence[Address] | None = None,
    intents: Sequence[Intent] = (),
    take_over: Sequence[str] = (),
    rebound: bool = False,
) -> Plan:
    """Every change that makes the server match the manifest, sorted for display.
    `intents`: the journal's pending intents (what adoption may take for ours).
    `take_over`: group ids the user lets the plan take over (--adopt-group) although
    nothing proves they are facesync's. `rebound`: the lock was just moved to this
    endpoint (--rebind), so a group it records proves nothing by its id alone."""
    targets = _as_targets(target)
    check_targets(targets, manifest, lock)
    check_take_over(take_over, manifest, lock)
    out = Collector(observed)
    unmanaged_counts: dict[str, int] = {}
    group_ids = {g.group_id for g in manifest.groups} | {g.group_id for g in lock.groups}
    for group_id in sorted(group_ids):
        want, have = manifest.group(group_id), lock.group(group_id)
        forced = group_id in take_over
        if want is not None and (have is None or have.kind != want.kind):
            # a journal intent or --adopt-group; a kind change whose create lost its answer
            have = adopt_group(out, want, intents, forced=forced) or have
        elif rebound and have is not None:
            check_rebound(out, have, intents, forced=forced)
        seen = observed.group(group_id) if observed is not None and have is not None else None
        if want is not None and have is not None and _stays(want, have, seen):
            have = adopt_members(out, want, have, seen, intents)  # type: ignore[arg-type]
        if have is not None:
            unmanaged_counts[group_id] = unmanaged_persons(out, have, seen)
        if want is None:
            _removed_group(out, have, seen)  # type: ignore[arg-type]
        else:
            _desired_group(out, want, have, seen)
    _unmanaged_groups(out, lock)
    changes = _narrow(out.changes, targets)
    adopted = {u.address.group for u in out.lock_updates
               if u.action is LockAction.ADOPT and _kept(u.address, targets)}
    changes += _trainings(changes, manifest, lock, observed, targets, adopted)
    changes.sort(key=_order)
    updates = sorted((u for u in out.lock_updates if _kept_update(u, targets)),
                     key=lambda u: (u.address.sort_key, u.action.value))
    unmanaged = sorted(
        (u for u in out.unmanaged if _kept_unmanaged(u, targets)),
        key=lambda u: (u.address, u.description),
    )
    return Plan(
        changes=tuple(changes),
        unmanaged=tuple(unmanaged),
        warnings=tuple(out.notes + _warnings(changes, observed, unmanaged_counts)),
        notes=tuple(downscale_notes(manifest, changes)),
        manifest_digest=manifest.digest,
        lock_serial=lock.serial,
        endpoint=lock.endpoint,
        lock_updates=tuple(updates),
        targets=tuple(targets),
    )


# --- groups ------------------------------------------------------------------------------


def _stays(want: DesiredGroup, have: LockedGroup, seen: ObservedGroup | None) -> bool:
    """A group that stays as it is on the server: the only kind adoption looks into."""
    return seen is not None and seen.kind == want.kind == have.kind and not _forced_replacement(
        want, have, seen
    )


def _removed_group(out: Collector, have: LockedGroup, seen: ObservedGroup | None) -> None:
    address = Address(have.group_id)
    if out.refreshed and seen is None:
        out.forget(address, Forget(have.group_id, have.kind), GONE)
        return
    out.add(address, Action.DELETE, GroupRef(have.group_id, have.kind), REMOVED,
            before={"kind": have.kind, "recognitionModel": have.recognition_model})


def _desired_group(out: Collector, want: DesiredGroup, have: LockedGroup | None,
                   seen: ObservedGroup | None) -> None:
    if have is None:
        _refuse_unmanaged(out, want)
        _create_group(out, want, Action.CREATE)
    elif out.refreshed and seen is None:
        if want.kind != have.kind:
            _refuse_unmanaged(out, want)
        _create_group(out, want, Action.CREATE, DRIFT)
    elif forced := _forced_replacement(want, have, seen):
        if want.kind != have.kind:
            _refuse_unmanaged(out, want)
        _create_group(out, want, Action.REPLACE, forced + " forces replacement", have)
    else:
        _update_group(out, want, have, seen)
        diff_persons(out, want, have, seen)


def _refuse_unmanaged(out: Collector, want: DesiredGroup) -> None:
    """Never adopt a group someone else made: it may hold persons we would delete."""
    if out.observed is None:
        return
    seen = out.observed.group(want.group_id)
    if (want.kind, want.group_id) in out.observed.other_group_ids or (
        seen is not None and seen.kind == want.kind
    ):
        raise PlanError(
            f"group '{want.group_id}' already exists on the server but this lock does not "
            f"manage it; pick another id, delete it, or take it over with --adopt-group "
            f"{want.group_id}"
        )


def _forced_replacement(want: DesiredGroup, have: LockedGroup, seen: ObservedGroup | None) -> str:
    """Why the group must be deleted and created again ("" when it need not)."""
    parts = []
    if want.kind != have.kind:
        parts.append(f"kind: {have.kind} -> {want.kind}")
    model = have.recognition_model
    if want.recognition_model == model and seen is not None and seen.recognition_model:
        model = seen.recognition_model  # changed behind facesync's back
    if want.recognition_model != model:
        parts.append(f"recognitionModel: {model} -> {want.recognition_model}")
    return ", ".join(parts)


def _create_group(out: Collector, want: DesiredGroup, action: Action, reason: str = "",
                  have: LockedGroup | None = None) -> None:
    """Create (or replace) the group and everything under it."""
    spec = GroupSpec(
        group_id=want.group_id,
        kind=want.kind,
        name=want.name,
        user_data=want.user_data,
        recognition_model=want.recognition_model,
        old_kind=have.kind if have is not None else None,
    )
    before = None
    if have is not None:
        before = {"kind": have.kind, "recognitionModel": have.recognition_model}
    after = {"name": want.name, "kind": want.kind, "recognitionModel": want.recognition_model}
    out.add(Address(want.group_id), action, spec, reason, before, after)
    for person in want.persons:
        create_person(out, want, person)


def _update_group(out: Collector, want: DesiredGroup, have: LockedGroup,
                  seen: ObservedGroup | None) -> None:
    if seen is not None:
        name_changed = want.name != seen.name
        data_changed = not same_text(want.user_data, seen.user_data)
        old_name: str | None = seen.name
        old_digest = text_digest(seen.user_data or "")
    else:
        name_changed = text_digest(want.name) != have.name_digest
        data_changed = not same_digest(want.user_data, have.user_data_digest)
        old_name, old_digest = None, have.user_data_digest
    if not (name_changed or data_changed):
        return
    new_data = want.user_data or ""  # "" clears what someone else set
    reason, before, after = describe_update(
        want.name if name_changed else None, old_name,
        (old_digest, text_digest(new_data)) if data_changed else None,
    )
    out.add(Address(want.group_id), Action.UPDATE, GroupUpdate(
        group_id=want.group_id,
        kind=want.kind,
        name=want.name if name_changed else None,
        user_data=new_data if data_changed else None,
    ), reason, before, after)


def _unmanaged_groups(out: Collector, lock: LockState) -> None:
    if out.observed is None:
        return
    for kind, group_id in sorted(out.observed.other_group_ids):
        have = lock.group(group_id)
        if (kind, group_id) in out.adopted_groups:
            continue
        if have is None or have.kind != kind:
            out.unmanaged.append(Unmanaged(group_id, f"{kind} not recorded in the lock"))


# --- training ------------------------------------------------------------------------------


def _trainings(changes: list[Change], manifest: Manifest, lock: LockState,
               observed: ObservedState | None, targets: list[Address],
               adopted: set[str]) -> list[Change]:
    """One train per desired group whose persons or faces change, or that is
    untrained; `adopted`: groups where the plan adopts something."""
    trains = []
    for want in manifest.groups:
        reason = _training_reason(want, changes, lock, observed, targets)
        if not reason and want.persons and want.group_id in adopted:
            reason = "adopted persons or faces"
        if reason:
            have = lock.group(want.group_id)
            status = have.training_status if have else None
            trains.append(Change(
                Address(want.group_id), Action.TRAIN, reason,
                before={"trainingStatus": status}, after=None,
                payload=TrainSpec(want.group_id, want.kind),
            ))
    return trains


def _training_reason(want: DesiredGroup, changes: list[Change], lock: LockState,
                     observed: ObservedState | None, targets: list[Address]) -> str:
    if not want.persons:
        return ""  # the service fails to train a group without persons: nothing to identify
    mine = [c for c in changes if c.address.group == want.group_id]
    for change in mine:
        if change.address.type is ResourceType.GROUP and change.action is not Action.UPDATE:
            return "new group" if change.action is Action.CREATE else "replaced group"
    if any(c.action in _RETRAIN for c in mine):
        return "persons or faces change"
    have = lock.group(want.group_id)
    if have is None or (targets and not any(t == Address(want.group_id) for t in targets)):
        return ""
    seen = observed.group(want.group_id) if observed is not None else None
    status = seen.training_status if seen is not None else have.training_status
    if status is None:
        return "never trained"
    if status == "failed":
        return "the last training failed"
    return "changed since the last training" if have.needs_training else ""


# --- targets, warnings, order ------------------------------------------------------------------


def _as_targets(target: Address | Sequence[Address] | None) -> list[Address]:
    if target is None:
        return []
    return [target] if isinstance(target, Address) else list(target)


def check_targets(targets: list[Address], manifest: Manifest, lock: LockState) -> None:
    """A mistyped --target would give an empty plan that looks like success."""
    for t in targets:
        want, have = manifest.group(t.group), lock.group(t.group)
        if want is None and have is None:
            raise PlanError(f"--target {t}: no group '{t.group}' in the manifest or the lock")
        known = (want is not None and want.person(t.person or "")) or (
            have is not None and have.person(t.person or "")
        )
        if t.person is not None and not known:
            raise PlanError(
                f"--target {t}: no person '{t.person}' in group '{t.group}' "
                "of the manifest or the lock"
            )


def check_take_over(group_ids: Sequence[str], manifest: Manifest, lock: LockState) -> None:
    """A mistyped --adopt-group would take over nothing and look like success."""
    for group_id in group_ids:
        if manifest.group(group_id) is None and lock.group(group_id) is None:
            raise PlanError(
                f"--adopt-group {group_id}: no group '{group_id}' in the manifest or the lock"
            )


def _kept(address: Address, targets: list[Address]) -> bool:
    return not targets or any(address.within(t) for t in targets)


def _kept_update(update: LockUpdate, targets: list[Address]) -> bool:
    """Inside the targets; and a group's adoption when a target lies in the group
    (what a target holds is recorded under the group, as a group's create is kept)."""
    if _kept(update.address, targets):
        return True
    return (update.action is LockAction.ADOPT and update.address.type is ResourceType.GROUP
            and any(t.group == update.address.group for t in targets))


def _kept_unmanaged(item: Unmanaged, targets: list[Address]) -> bool:
    return not targets or any(
        item.address == str(t) or item.address.startswith(f"{t}/") for t in targets
    )


def _narrow(changes: list[Change], targets: list[Address]) -> list[Change]:
    """The changes inside the targets, plus the creation of the groups they live in."""
    if not targets:
        return list(changes)
    kept = [c for c in changes if _kept(c.address, targets)]
    groups = {c.address.group for c in kept}
    kept += [
        c for c in changes
        if not _kept(c.address, targets) and c.address.type is ResourceType.GROUP
        and c.address.group in groups and c.action in (Action.CREATE, Action.REPLACE)
    ]
    return kept


def _warnings(changes: list[Change], observed: ObservedState | None,
              unmanaged_counts: dict[str, int]) -> list[str]:
    warnings = []
    for c in changes:
        if c.address.type is not ResourceType.GROUP or c.action not in (Action.DELETE,
                                                                        Action.REPLACE):
            continue
        verb = "Deleting" if c.action is Action.DELETE else "Replacing"
        if observed is None:
            others = ", including any persons this lock does not manage (not refreshed: " \
                     "count unknown)"
        else:
            n = unmanaged_counts.get(c.address.group, 0)
            others = (f", including {n} person{'' if n == 1 else 's'} this lock does not "
                      "manage") if n else ""
        warnings.append(f"{verb} group '{c.address.group}' deletes everything in it{others}.")
    return warnings


def _order(change: Change) -> tuple[str, int, str, str, int]:
    """By address, a group's training last; the executor orders by dependency itself."""
    group, person, face = change.address.sort_key
    return (group, change.action is Action.TRAIN, person, face, _ACTION_RANK[change.action])

