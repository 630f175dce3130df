"""An in-memory Face API just rich enough to run plans: groups, persons,
faces, training. It runs a plan as apply does: `begin` (adoptions), then the
changes in dependency order, recording each result with `record`, then
`finish`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from facesync.engine.record import begin, finish, record
from facesync.plan.model import Action, Change, Plan, ResourceType
from facesync.state.model import LockState, ObservedGroup, ObservedPerson, ObservedState


@dataclass
class FakePerson:
    name: str
    user_data: str | None
    faces: dict[str, str | None] = field(default_factory=dict)  # persistedFaceId -> userData


@dataclass
class FakeGroup:
    name: str
    user_data: str | None
    recognition_model: str
    persons: dict[str, FakePerson] = field(default_factory=dict)
    training: str | None = None


_TYPE_RANK = {ResourceType.GROUP: 0, ResourceType.PERSON: 1, ResourceType.FACE: 2}
_ACTION_RANK = {Action.DELETE: 0, Action.REPLACE: 1, Action.CREATE: 2, Action.UPDATE: 3}


def _dependency_order(change: Change) -> tuple[int, int]:
    if change.action is Action.TRAIN:
        return (3, 0)
    return (_TYPE_RANK[change.address.type], _ACTION_RANK[change.action])


@dataclass
class FakeServer:
    groups: dict[tuple[str, str], FakeGroup] = field(default_factory=dict)  # (kind, id)
    calls: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    # --- running plans ------------------------------------------------------------

    def run(self, plan: Plan, lock: LockState) -> LockState:
        lock = begin(lock, plan)
        for change in sorted(plan.changes, key=_dependency_order):
            result = self.execute(change, lock)
            lock = record(lock, change, result)
        return finish(lock, plan)

    def execute(self, change: Change, lock: LockState) -> dict[str, Any]:
        d = change.data
        self.calls.append(f"{change.action.value} {change.address}")
        if change.action is Action.TRAIN:
            self.groups[(d["kind"], d["group_id"])].training = "succeeded"
            return {"status": "succeeded"}
        if change.address.type is ResourceType.GROUP:
            return self._group(change.action, d)
        if change.address.type is ResourceType.PERSON:
            return self._person(change.action, d)
        return self._face(change.action, d, lock)

    def _group(self, action: Action, d: dict[str, Any]) -> dict[str, Any]:
        if action in (Action.DELETE, Action.REPLACE):
            del self.groups[(d.get("old_kind", d["kind"]), d["group_id"])]
        if action in (Action.CREATE, Action.REPLACE):
            key = (d["kind"], d["group_id"])
            assert key not in self.groups, f"group {key} exists"
            self.groups[key] = FakeGroup(d["name"], d["user_data"], d["recognition_model"])
        if action is Action.UPDATE:
            g = self.groups[(d["kind"], d["group_id"])]
            g.name = d["name"] if d["name"] is not None else g.name
            g.user_data = d["user_data"] if d["user_data"] is not None else g.user_data
        return {}

    def _person(self, action: Action, d: dict[str, Any]) -> dict[str, Any]:
        g = self.groups[(d["kind"], d["group_id"])]
        if action is Action.CREATE:
            person_id = self.new_id("person")
            g.persons[person_id] = FakePerson(d["name"], d["user_data"])
            return {"person_id": person_id}
        if action is Action.DELETE:
            del g.persons[d["person_id"]]
            return {}
        p = g.persons[d["person_id"]]
        p.name = d["name"] if d["name"] is not None else p.name
        p.user_data = d["user_data"] if d["user_data"] is not None else p.user_data
        return {}

    def _face(self, action: Action, d: dict[str, Any], lock: LockState) -> dict[str, Any]:
        person_id = d["person_id"]
        if person_id is None:  # the person was created earlier in this run
            locked_group = lock.group(d["group_id"])
            assert locked_group is not None
            locked_person = locked_group.person(d["person_key"])
            assert locked_person is not None
            person_id = locked_person.person_id
        p = self.groups[(d["kind"], d["group_id"])].persons[person_id]
        if action is Action.DELETE:
            del p.faces[d["persisted_face_id"]]
            return {}
        if action is Action.UPDATE:
            p.faces[d["persisted_face_id"]] = d["user_data"]
            return {}
        if action is Action.REPLACE:
            del p.faces[d["old_persisted_face_id"]]
        face_id = self.new_id("face")
        p.faces[face_id] = d["user_data"]
        return {"persisted_face_id": face_id}

    # --- refresh --------------------------------------------------------------------

    def observe(self, lock: LockState, wanted: frozenset[str] = frozenset()) -> ObservedState:
        """What a refresh sees: the lock's groups (and `wanted` ones) in full, the
        others by id; the userData of every face the lock does not record (a
        superset of what refresh reads one by one)."""
        managed = {(g.kind, g.group_id) for g in lock.groups}
        recorded = {f.persisted_face_id for g in lock.groups for p in g.persons for f in p.faces}
        groups, read = [], []
        for (kind, group_id), g in sorted(self.groups.items()):
            if (kind, group_id) not in managed and group_id not in wanted:
                continue
            read += [(fid, data) for p in g.persons.values() for fid, data in p.faces.items()
                     if fid not in recorded]
            persons = tuple(
                ObservedPerson(pid, p.name, p.user_data, tuple(sorted(p.faces)))
                for pid, p in sorted(g.persons.items())
            )
            groups.append(ObservedGroup(group_id, kind, g.name, g.user_data,
                                        g.recognition_model, g.training, persons))
        others = tuple(sorted(k for k in self.groups if k not in managed))
        return ObservedState(groups=tuple(groups), other_group_ids=others,
                             faces_read=tuple(sorted(read)))

    # --- drift behind facesync's back -------------------------------------------------

    def group(self, group_id: str) -> FakeGroup:
        return next(g for (_, gid), g in self.groups.items() if gid == group_id)

    def person_named(self, group_id: str, name: str) -> tuple[str, FakePerson]:
        return next((pid, p) for pid, p in self.group(group_id).persons.items() if p.name == name)
