"""Plans for people (Terraform-like lines) and for programs (--json).

The JSON form is documented by schemas/plan.schema.json; it carries no
absolute paths, no image bytes and no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facesync.plan.diff_members import REMOVED
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
from facesync.state.model import LockState

FORMAT_VERSION = 1
NO_CHANGES = "No changes. Server matches the manifest."
NOTHING_TO_DESTROY = "Nothing to destroy."

_RESET = "\033[0m"
_COLORS = {
    Action.CREATE: "\033[32m",  # green
    Action.UPDATE: "\033[33m",  # yellow
    Action.REPLACE: "\033[35m",  # magenta
    Action.DELETE: "\033[31m",  # red
    Action.TRAIN: "\033[36m",  # cyan
}
_ADOPT_COLOR = "\033[34m"  # blue
_BOLD = "\033[1m"
_WARN = "\033[1;31m"
_DIM = "\033[2m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def change_line(change: Change, *, color: bool = False) -> str:
    """`~ staff/alice  (name: "Alice" -> "Alice Example")`, `* staff  (train: new group)`."""
    reason = change.reason
    if change.action is Action.TRAIN:
        reason = f"train: {reason}" if reason else "train"
    line = f"{_paint(change.action.symbol, _COLORS[change.action], color)} {change.address}"
    return f"{line}  ({reason})" if reason else line


ADOPT_SYMBOL = "="


def summary_line(plan: Plan) -> str:
    """Terraform's line; adoptions lead it when there are any, as Terraform's
    imports do (`Plan: 1 to adopt, 2 to add, ...`) and count in nothing else."""
    if not plan.has_changes:
        return NO_CHANGES
    n = plan.counts()
    adopt = len(plan.adoptions)
    lead = f"{adopt} to adopt, " if adopt else ""
    return (
        f"Plan: {lead}{n['add']} to add, {n['change']} to change, "
        f"{n['destroy']} to destroy, {n['train']} to train."
    )


def adoption_line(update: LockUpdate, *, color: bool = False) -> str:
    """`= staff/alice  (adopt personId ... left by an interrupted apply)`."""
    return f"{_paint(ADOPT_SYMBOL, _ADOPT_COLOR, color)} {update}"


def render_human(plan: Plan, *, color: bool = False) -> str:
    """The plan as lines of text: adoptions, changes, unmanaged objects, lock-only
    updates, warnings, then the summary line. Plain text unless `color`."""
    lines = [change_line(c, color=color) for c in plan.changes]
    return _render(plan, lines, summary_line(plan), color)


def render_destroy(
    plan: Plan, contents: Mapping[Address, Contents], *, color: bool = False
) -> str:
    """A destroy's plan: as render_human, each delete saying what goes with it
    (`- staff  (destroy: 6 persons, 13 faces)`), and `Nothing to destroy.` when empty."""
    lines = [destroy_line(c, contents, color=color) for c in plan.changes]
    closing = summary_line(plan) if plan.has_changes else NOTHING_TO_DESTROY
    return _render(plan, lines, closing, color)


def _render(plan: Plan, change_lines: list[str], closing: str, color: bool) -> str:
    blocks: list[list[str]] = []
    if plan.adoptions:  # recorded first, before any change runs
        blocks.append([adoption_line(u, color=color) for u in plan.adoptions])
    if change_lines:
        blocks.append(change_lines)
    if plan.unmanaged:
        blocks.append(
            [_paint("Unmanaged (not touched):", _BOLD, color)]
            + [f"  {u.address}  {u.description}" for u in plan.unmanaged]
        )
    lock_only = [str(u) for u in plan.lock_updates if u.action is not LockAction.ADOPT]
    if lock_only:
        blocks.append(
            [_paint("Lock file only (no server call):", _BOLD, color)]
            + [f"  {text}" for text in lock_only]
        )
    if plan.notes:
        blocks.append([f"Note: {n}" for n in plan.notes])
    if plan.warnings:
        blocks.append([_paint(f"WARNING: {w}", _WARN, color) for w in plan.warnings])
    blocks.append([_paint(closing, _BOLD, color)])
    return "\n\n".join("\n".join(block) for block in blocks)


# --- destroy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What goes with a deleted group or person: the persons and faces the lock
    records in it (a person's own faces; a group's persons and all their faces)."""

    persons: int = 0
    faces: int = 0


def destroyed_contents(plan: Plan, lock: LockState) -> dict[Address, Contents]:
    """For each group or person the plan deletes, what the lock records in it."""
    contents: dict[Address, Contents] = {}
    for c in plan.changes:
        group = lock.group(c.address.group) if c.action is Action.DELETE else None
        if group is None:
            continue
        if c.address.type is ResourceType.GROUP:
            faces = sum(len(p.faces) for p in group.persons)
            contents[c.address] = Contents(len(group.persons), faces)
        elif c.address.type is ResourceType.PERSON:
            person = group.person(c.address.person or "")
            if person is not None:
                contents[c.address] = Contents(0, len(person.faces))
    return contents


def counted(n: int, noun: str) -> str:
    """`1 face`, `13 faces`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def contents_text(address: Address, contents: Contents) -> str:
    """`6 persons, 13 faces` for a group, `3 faces` for a person."""
    faces = counted(contents.faces, "face")
    if address.type is ResourceType.GROUP:
        return f"{counted(contents.persons, 'person')}, {faces}"
    return faces


def destroy_line(
    change: Change, contents: Mapping[Address, Contents], *, color: bool = False
) -> str:
    """A delete of what the lock manages says `destroy` and what goes with it;
    other changes (a recovery's cleanup, the training after) keep their reason."""
    if change.action is not Action.DELETE or change.reason != REMOVED:
        return change_line(change, color=color)
    line = f"{_paint(change.action.symbol, _COLORS[change.action], color)} {change.address}"
    inside = contents.get(change.address)
    if inside is None or change.address.type is ResourceType.FACE:
        return f"{line}  (destroy)"
    return f"{line}  (destroy: {contents_text(change.address, inside)})"


# --- JSON --------------------------------------------------------------------------------


def change_to_json(change: Change) -> dict[str, Any]:
    return {
        "address": str(change.address),
        "action": change.action.value,
        "type": change.address.type.value,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
    }


def unmanaged_to_json(item: Unmanaged) -> dict[str, Any]:
    return {"address": item.address, "description": item.description}


def lock_update_to_json(update: LockUpdate) -> dict[str, Any]:
    return {
        "address": str(update.address),
        "action": update.action.value,
        "description": update.description,
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The machine-readable plan (schemas/plan.schema.json)."""
    return {
        "format_version": FORMAT_VERSION,
        "changes": [change_to_json(c) for c in plan.changes],
        "unmanaged": [unmanaged_to_json(u) for u in plan.unmanaged],
        "warnings": list(plan.warnings),
        "notes": list(plan.notes),
        "lock_only": [lock_update_to_json(u) for u in plan.lock_updates],
        "summary": plan.counts(),
        "has_changes": plan.has_changes,
        "manifest_digest": plan.manifest_digest,
        "lock_serial": plan.lock_serial,
        "endpoint": plan.endpoint,
    }
