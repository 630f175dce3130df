"""Plans: ordered changes, each `{address, action, before, after}` plus the
typed payload the executor runs it with (facesync.plan.payloads).

The reason of a change explains it to the user; it never decides anything.
Values only, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from facesync.plan.payloads import (
    AdoptFace,
    AdoptGroup,
    AdoptPerson,
    ChangePayload,
    FaceRef,
    FaceSpec,
    FaceUpdate,
    Forget,
    GroupRef,
    GroupSpec,
    GroupUpdate,
    LockPayload,
    Move,
    PersonRef,
    PersonSpec,
    PersonUpdate,
    TrainSpec,
)

P = TypeVar("P")


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    TRAIN = "train"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "train": "*"}[
            self.value
        ]


class ResourceType(str, Enum):
    GROUP = "group"
    PERSON = "person"
    FACE = "face"


@dataclass(frozen=True, order=True)
class Address:
    """`GROUP`, `GROUP/PERSON` or `GROUP/PERSON/PATH` (the face's manifest path)."""

    group: str
    person: str | None = None
    face: str | None = None  # the face's path as written in the manifest

    @property
    def type(self) -> ResourceType:
        if self.face is not None:
            return ResourceType.FACE
        if self.person is not None:
            return ResourceType.PERSON
        return ResourceType.GROUP

    def __str__(self) -> str:
        return "/".join(p for p in (self.group, self.person, self.face) if p is not None)

    @property
    def sort_key(self) -> tuple[str, str, str]:
        """For sorting: None fields cannot be compared with strings."""
        return (self.group, self.person or "", self.face or "")

    @classmethod
    def parse(cls, text: str) -> Address:
        """The inverse of str(): group ids and person keys never hold a "/"."""
        group, person, face = (text.split("/", 2) + [None, None])[:3]
        return cls(group, person or None, face or None)

    @classmethod
    def parse_target(cls, text: str) -> Address:
        """`GROUP` or `GROUP/PERSON`, as given to --target."""
        group, _, person = text.partition("/")
        return cls(group, person or None)

    def within(self, target: Address) -> bool:
        """True when this address is the target or lies inside it."""
        if self.group != target.group:
            return False
        return target.person is None or self.person == target.person


# The payload each kind of change carries (facesync.plan.payloads).
_CHANGE_PAYLOADS: dict[tuple[ResourceType, Action], type[ChangePayload]] = {
    (ResourceType.GROUP, Action.CREATE): GroupSpec,
    (ResourceType.GROUP, Action.REPLACE): GroupSpec,
    (ResourceType.GROUP, Action.UPDATE): GroupUpdate,
    (ResourceType.GROUP, Action.DELETE): GroupRef,
    (ResourceType.GROUP, Action.TRAIN): TrainSpec,
    (ResourceType.PERSON, Action.CREATE): PersonSpec,
    (ResourceType.PERSON, Action.REPLACE): PersonSpec,
    (ResourceType.PERSON, Action.UPDATE): PersonUpdate,
    (ResourceType.PERSON, Action.DELETE): PersonRef,
    (ResourceType.FACE, Action.CREATE): FaceSpec,
    (ResourceType.FACE, Action.REPLACE): FaceSpec,
    (ResourceType.FACE, Action.UPDATE): FaceUpdate,
    (ResourceType.FACE, Action.DELETE): FaceRef,
}


def change_payload_type(kind: ResourceType, action: Action) -> type[ChangePayload] | None:
    """The payload a change of this kind carries; None when there is no such
    change (only groups are trained)."""
    return _CHANGE_PAYLOADS.get((kind, action))


@dataclass(frozen=True)
class Change:
    """One change. `before`/`after` are small JSON-able dicts (no secrets, no
    image bytes), for people; `payload` carries what the executor needs (ids,
    sha256, path), typed by the change's kind (`change_payload_type`)."""

    address: Address
    action: Action
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    payload: ChangePayload = field(kw_only=True, compare=False)

    def __post_init__(self) -> None:
        expected = change_payload_type(self.address.type, self.action)
        _check_payload(self.address, self.action.value, self.payload, expected)

    def payload_as(self, kind: type[P]) -> P:
        """The payload, known to be a `kind` (an executor step for one kind of
        change asks for the payload that kind carries)."""
        return _payload_as(self.address, self.payload, kind)


def _check_payload(address: Address, action: str, payload: object, expected: type | None) -> None:
    """A change or lock update is built with the payload its kind carries, or not at all."""
    if expected is None or not isinstance(payload, expected):
        raise TypeError(
            f"{address}: a {address.type.value} {action} cannot carry "
            f"a {type(payload).__name__}"
        )


def _payload_as(address: Address, payload: object, kind: type[P]) -> P:
    if not isinstance(payload, kind):
        raise TypeError(f"{address}: the payload is a {type(payload).__name__}, "
                        f"not a {kind.__name__}")
    return payload


@dataclass(frozen=True)
class Unmanaged:
    """A server object the lock does not know: listed, never touched."""

    address: str  # "GROUP", "GROUP/<personId>", "GROUP/PERSON/<persistedFaceId>"
    description: str


class LockAction(str, Enum):
    """What a lock-only update does: MOVE (the same image now has another path),
    FORGET (the object is gone from both the manifest and the server) or ADOPT
    (an object facesync created but never recorded: see facesync.plan.adopt)."""

    MOVE = "move"
    FORGET = "forget"
    ADOPT = "adopt"


_ADOPTIONS: dict[ResourceType, type[LockPayload]] = {
    ResourceType.GROUP: AdoptGroup,
    ResourceType.PERSON: AdoptPerson,
    ResourceType.FACE: AdoptFace,
}


def lock_payload_type(kind: ResourceType, action: LockAction) -> type[LockPayload] | None:
    """The payload a lock-only update of this kind carries; None when there is
    no such update (only faces move)."""
    if action is LockAction.ADOPT:
        return _ADOPTIONS[kind]
    if action is LockAction.MOVE:
        return Move if kind is ResourceType.FACE else None
    return Forget


@dataclass(frozen=True)
class LockUpdate:
    """A lock-only update: no server call. `engine.record.begin` records the
    adoptions before the plan's changes run (later changes build on them);
    `engine.record.finish` applies the others once they ran."""

    address: Address
    action: LockAction
    description: str
    payload: LockPayload  # what begin() and finish() need (facesync.plan.payloads)

    def __post_init__(self) -> None:
        expected = lock_payload_type(self.address.type, self.action)
        _check_payload(self.address, self.action.value, self.payload, expected)

    def payload_as(self, kind: type[P]) -> P:
        """The payload, known to be a `kind` (as `Change.payload_as`)."""
        return _payload_as(self.address, self.payload, kind)

    def __str__(self) -> str:
        return f"{self.address}  ({self.description})"


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()  # loud notes (a group delete takes unmanaged persons too)
    notes: tuple[str, ...] = ()  # quiet facts (a photo sent downscaled)
    manifest_digest: str = ""
    lock_serial: int = 0
    endpoint: str = ""
    # Lock-only updates (a renamed file with the same bytes, adoptions): no server call.
    lock_updates: tuple[LockUpdate, ...] = ()
    # The --target addresses it was made for: an apply of it judges nothing outside.
    targets: tuple[Address, ...] = ()
    # Apply only, never saved: (intent id, ids of the unrecorded objects it may have
    # made) for the journal's pending intents this plan's refresh judged.
    judged: tuple[tuple[str, frozenset[str]], ...] = field(default=(), compare=False)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def adoptions(self) -> tuple[LockUpdate, ...]:
        """Objects facesync created but never recorded, adopted into the lock."""
        return tuple(u for u in self.lock_updates if u.action is LockAction.ADOPT)

    def counts(self) -> dict[str, int]:
        """Terraform's counting: a replace is one add and one destroy; train counts groups."""
        add = change = destroy = train = 0
        for c in self.changes:
            if c.action is Action.CREATE:
                add += 1
            elif c.action is Action.UPDATE:
                change += 1
            elif c.action is Action.REPLACE:
                add += 1
                destroy += 1
            elif c.action is Action.DELETE:
                destroy += 1
            elif c.action is Action.TRAIN:
                train += 1
        return {"add": add, "change": change, "destroy": destroy, "train": train}
