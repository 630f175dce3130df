"""An in-memory Face API just rich enough to run plans: groups, persons,
faces, training. It runs a plan as apply does: `begin` (adoptions), then the
changes in dependency order, recording each result with `record`, then
`finish`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from facesync.engine.record import CallResult, begin, finish, record
from facesync.plan.model import Action, Change, Plan, ResourceType
from facesync.plan.payloads import (
    FaceRef,
    FaceSpec,
    FaceUpdate,
    GroupSpec,
    GroupUpdate,
    PersonRef,
    PersonSpec,
    PersonUpdate,
)
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
        """A GUID as the service writes them; persons and faces count apart
        in its third group, so a test can tell them at a glance."""
        kind = {"person": 1, "face": 2}.get(prefix, 0)
        n = next(self._ids)
        return f"{n:08x}-0000-400{kind}-8000-{n:012x}"

    # --- running plans ------------------------------------------------------------

    def run(self, plan: Plan, lock: LockState) -> LockState:
        lock = begin(lock, plan)
        for change in sorted(plan.changes, key=_dependency_order):
            result = self.execute(change, lock)
            lock = record(lock, change, result)
        return finish(lock, plan)

    def execute(self, change: Change, lock: LockState) -> CallResult:
        p = change.payload
        self.calls.append(f"{change.action.value} {change.address}")
        if change.action is Action.TRAIN:
            self.groups[(p.kind, p.group_id)].training = "succeeded"
            return CallResult(training_status="succeeded")
        if change.address.type is ResourceType.GROUP:
            return self._group(change)
        if change.address.type is ResourceType.PERSON:
            return self._person(change)
        return self._face(change, lock)

    def _group(self, change: Change) -> CallResult:
        p, action = change.payload, change.action
        if action is Action.DELETE:
            del self.groups[(p.kind, p.group_id)]
        if action in (Action.CREATE, Action.REPLACE):
            spec = change.payload_as(GroupSpec)
            if action is Action.REPLACE:
                del self.groups[(spec.old_kind or spec.kind, spec.group_id)]
            key = (spec.kind, spec.group_id)
            assert key not in self.groups, f"group {key} exists"
            self.groups[key] = FakeGroup(spec.name, spec.user_data, spec.recognition_model)
        if action is Action.UPDATE:
            update = change.payload_as(GroupUpdate)
            g = self.groups[(update.kind, update.group_id)]
            g.name = update.name if update.name is not None else g.name
            g.user_data = update.user_data if update.user_data is not None else g.user_data
        return CallResult()

    def _person(self, change: Change) -> CallResult:
        g = self.groups[(change.payload.kind, change.payload.group_id)]
        if change.action is Action.CREATE:
            spec = change.payload_as(PersonSpec)
            person_id = self.new_id("person")
            g.persons[person_id] = FakePerson(spec.name, spec.user_data)
            return CallResult(person_id=person_id)
        if change.action is Action.DELETE:
            del g.persons[change.payload_as(PersonRef).person_id]
            return CallResult()
        update = change.payload_as(PersonUpdate)
        p = g.persons[update.person_id]
        p.name = update.name if update.name is not None else p.name
        p.user_data = update.user_data if update.user_data is not None else p.user_data
        return CallResult()

    def _face(self, change: Change, lock: LockState) -> CallResult:
        d = change.payload
        assert isinstance(d, (FaceSpec, FaceUpdate, FaceRef))
        person_id = d.person_id
        if person_id is None:  # the person was created earlier in this run
            locked_group = lock.group(d.group_id)
            assert locked_group is not None
            locked_person = locked_group.person(d.person_key)
            assert locked_person is not None
            person_id = locked_person.person_id
        p = self.groups[(d.kind, d.group_id)].persons[person_id]
        if isinstance(d, FaceRef):
            del p.faces[d.persisted_face_id]
            return CallResult()
        if isinstance(d, FaceUpdate):
            p.faces[d.persisted_face_id] = d.user_data
            return CallResult()
        if change.action is Action.REPLACE:
            del p.faces[d.old_persisted_face_id]  # type: ignore[arg-type]
        face_id = self.new_id("face")
        p.faces[face_id] = d.user_data
        return CallResult(persisted_face_id=face_id)

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
