"""Plans: ordered changes, each `{address, action, before, after}`.

The reason of a change explains it to the user; it never decides anything.
Values only, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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


@dataclass(frozen=True)
class Change:
    """One change. `before`/`after` are small JSON-able dicts (no secrets, no
    image bytes); `data` carries what the executor needs (ids, sha256, path)."""

    address: Address
    action: Action
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # Keys the executor needs: group_id, kind, person_key, person_id, sha256,
    # persisted_face_id, ... (see facesync.plan.diff for what each action sets).
    data: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Unmanaged:
    """A server object the lock does not know: listed, never touched."""

    address: str  # "GROUP", "GROUP/<personId>", "GROUP/PERSON/<persistedFaceId>"
    description: str


@dataclass(frozen=True)
class LockUpdate:
    """A lock-only update: no server call, applied by `state.lock_update.finish`.

    `action` is "move" (the same image now has another path), "forget"
    (the object is gone from both the manifest and the server) or "adopt"
    (an object facesync created but never recorded: see facesync.plan.adopt;
    `state.lock_update.begin` records it before the plan's changes run).
    """

    address: Address
    action: str
    description: str
    # group_id, person_key, sha256 (faces), path (moves), ids and digests
    # (adoptions): what begin() and finish() need.
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.address}  ({self.description})"


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()  # loud notes (a group delete takes unmanaged persons too)
    # Lock-only updates (a renamed file with the same bytes): no server call.
    # `lock_only` is their display form; `lock_updates` what finish() applies.
    lock_only: tuple[str, ...] = ()
    manifest_digest: str = ""
    lock_serial: int = 0
    endpoint: str = ""
    lock_updates: tuple[LockUpdate, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def adoptions(self) -> tuple[LockUpdate, ...]:
        """Objects facesync created but never recorded, adopted into the lock."""
        return tuple(u for u in self.lock_updates if u.action == "adopt")

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
