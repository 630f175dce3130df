"""A saved plan is untrusted input: its payloads must fit their addresses and the lock.

`plan -o` files travel like the lock (CI artefacts, pull requests), and apply
runs their payloads as they are: a payload's group, kind and ids go straight
into URLs. A plan whose freshness fields were copied from a real one must
still not reach a group the lock does not manage, nor a person or face the
lock does not record, unless the plan itself creates or adopts it. Checked
against the lock before any call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from facesync.errors import PlanError
from facesync.manifest.model import LARGE_PERSON_GROUP, PERSON_GROUP
from facesync.plan.model import Action, Address, Plan, ResourceType
from facesync.plan.payloads import AdoptFace, AdoptGroup, AdoptPerson, GroupSpec
from facesync.state.model import LockState

GROUP_KINDS = (PERSON_GROUP, LARGE_PERSON_GROUP)


def check_against_lock(plan: Plan, lock: LockState) -> None:
    """Refuse, in one line, a saved plan with a payload the lock cannot vouch for."""
    problem = next(_problems(plan, lock), None)
    if problem is not None:
        raise PlanError(
            f"the saved plan does not fit the lock file ({problem}); it was edited or "
            "made for another lock: run `facesync plan -o FILE` again"
        )


def _problems(plan: Plan, lock: LockState) -> Iterator[str]:
    made = _made_by_plan(plan)
    entries: list[tuple[str, Address, Action | None, Any]] = [
        (f"changes[{i}]", c.address, c.action, c.payload) for i, c in enumerate(plan.changes)
    ]
    entries += [
        (f"lock_only[{i}]", u.address, None, u.payload) for i, u in enumerate(plan.lock_updates)
    ]
    for where, address, action, payload in entries:
        problem = _payload_problem(address, action, payload, lock, made)
        if problem is not None:
            yield f"{where} {address}: {problem}"


class _Made:
    """What the plan itself creates or adopts, so later payloads may name it."""

    def __init__(self) -> None:
        self.group_kinds: dict[str, set[str]] = {}
        self.person_ids: set[tuple[str, str]] = set()  # (group, personId)
        self.face_ids: set[tuple[str, str]] = set()  # (group, persistedFaceId)


def _made_by_plan(plan: Plan) -> _Made:
    made = _Made()
    for c in plan.changes:
        if (c.address.type is ResourceType.GROUP and c.action in (Action.CREATE, Action.REPLACE)
                and isinstance(c.payload, GroupSpec)):
            made.group_kinds.setdefault(c.address.group, set()).add(c.payload.kind)
    for u in plan.lock_updates:
        p = u.payload
        if isinstance(p, AdoptGroup):
            made.group_kinds.setdefault(p.group_id, set()).add(p.kind)
        elif isinstance(p, AdoptPerson):
            made.person_ids.add((p.group_id, p.person_id))
        elif isinstance(p, AdoptFace):
            made.face_ids.add((p.group_id, p.persisted_face_id))
    return made


def _payload_problem(
    address: Address, action: Action | None, payload: Any, lock: LockState, made: _Made
) -> str | None:
    group_id = getattr(payload, "group_id", address.group)
    if group_id != address.group:
        return f"its data names group {group_id!r}"
    kind = getattr(payload, "kind", None)
    if kind is not None and kind not in GROUP_KINDS:
        return f"its data names the group kind {kind!r}, which is not one of the service's"
    have = lock.group(group_id)
    kinds = set(made.group_kinds.get(group_id, ()))
    if have is not None:
        kinds.add(have.kind)
    creates_group = address.type is ResourceType.GROUP and action is Action.CREATE
    if not kinds and not creates_group:
        return f"group {group_id!r} is not in the lock and the plan does not create it"
    if kind is not None and kinds and kind not in kinds and not creates_group:
        return f"its data names the kind {kind!r}, not {' or '.join(sorted(kinds))!r}"
    key = getattr(payload, "person_key", None)
    if key is not None and address.person is not None and key != address.person:
        return f"its data names the person {key!r}"
    if getattr(payload, "unrecorded", False):
        return None  # a copy the plan found on the server in a managed group
    return _ids_problem(group_id, address, payload, lock, made)


def _ids_problem(
    group_id: str, address: Address, payload: Any, lock: LockState, made: _Made
) -> str | None:
    if isinstance(payload, (AdoptPerson, AdoptFace)):
        return None  # what the plan adopts: proven by markers or the journal when planned
    have = lock.group(group_id)
    person = have.person(address.person) if have is not None and address.person else None
    person_id = getattr(payload, "person_id", None)
    if person_id and (person is None or person.person_id != person_id) and (
        group_id, person_id) not in made.person_ids:
        return f"personId {person_id!r} is not the one the lock records for it"
    recorded_faces = {f.persisted_face_id for f in person.faces} if person is not None else set()
    for field in ("persisted_face_id", "old_persisted_face_id"):
        face_id = getattr(payload, field, None)
        if face_id and face_id not in recorded_faces and (group_id, face_id) not in made.face_ids:
            return f"persistedFaceId {face_id!r} is not one the lock records for this person"
    return None
