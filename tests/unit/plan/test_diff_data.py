"""Change.payload is the executor's contract: the payload type of every action,
the exact keys it has in a saved plan's `data`, and values the executor can
send as they are (effective userData with facesync's markers)."""

from __future__ import annotations

import json
from dataclasses import replace

from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from facesync.plan.model import Change
from facesync.plan.payloads import (
    FaceRef,
    FaceSpec,
    FaceUpdate,
    GroupRef,
    GroupSpec,
    GroupUpdate,
    PersonRef,
    PersonSpec,
    PersonUpdate,
    TrainSpec,
    from_data,
    to_data,
)

from .builders import FOLDER, applied, empty_world, face, group, manifest, person, sha

PAYLOADS = {
    ("group", "create"): GroupSpec,
    ("group", "replace"): GroupSpec,
    ("group", "update"): GroupUpdate,
    ("group", "delete"): GroupRef,
    ("group", "train"): TrainSpec,
    ("person", "create"): PersonSpec,
    ("person", "update"): PersonUpdate,
    ("person", "delete"): PersonRef,
    ("face", "create"): FaceSpec,
    ("face", "replace"): FaceSpec,
    ("face", "update"): FaceUpdate,
    ("face", "delete"): FaceRef,
}

KEYS = {
    ("group", "create"): {"group_id", "kind", "name", "user_data", "recognition_model"},
    ("group", "replace"): {"group_id", "kind", "name", "user_data", "recognition_model",
                           "old_kind"},
    ("group", "update"): {"group_id", "kind", "name", "user_data"},
    ("group", "delete"): {"group_id", "kind"},
    ("group", "train"): {"group_id", "kind"},
    ("person", "create"): {"group_id", "kind", "person_key", "name", "user_data",
                           "preexisting"},
    ("person", "update"): {"group_id", "kind", "person_key", "person_id", "name", "user_data"},
    ("person", "delete"): {"group_id", "kind", "person_key", "person_id"},
    ("face", "create"): {"group_id", "kind", "person_key", "person_id", "sha256", "path",
                         "abs_path", "target_face", "user_data", "detection_model",
                         "preexisting"},
    ("face", "replace"): {"group_id", "kind", "person_key", "person_id", "sha256", "path",
                          "abs_path", "target_face", "user_data", "detection_model",
                          "old_persisted_face_id", "old_sha256", "preexisting"},
    ("face", "update"): {"group_id", "kind", "person_key", "person_id", "sha256",
                         "persisted_face_id", "path", "user_data"},
    ("face", "delete"): {"group_id", "kind", "person_key", "person_id", "sha256",
                         "persisted_face_id", "path"},
}

ALICE = person("alice", face("a/1.jpg"), face("a/2.jpg"), face("a/3.jpg"), face("a/4.jpg"))
BASE = manifest(
    group("staff", ALICE, person("bob", face("b/1.jpg"))),
    group("old"),
    group("models"),
)
NEXT = manifest(
    group(
        "staff",
        person("alice", face("a/1.jpg", target_face=(1, 2, 50, 60)), face("a/2.jpg", user_data="x"),
               face("a/4.jpg"), face("a/5.jpg"), name="Alice E."),
        person("carol", face("c/1.jpg")),
        name="Staff renamed",
    ),
    group("models", recognition_model="recognition_03"),
    group("new"),
)


def _key(change: Change) -> tuple[str, str]:
    return (change.address.type.value, change.action.value)


def test_every_action_carries_exactly_the_keys_the_executor_reads() -> None:
    plan = applied(BASE).plan(NEXT)
    assert {_key(c) for c in plan.changes} == set(KEYS) == set(PAYLOADS)
    for change in plan.changes:
        assert type(change.payload) is PAYLOADS[_key(change)], str(change.address)
        assert set(to_data(change.payload)) == KEYS[_key(change)], str(change.address)


def test_data_is_json_serialisable_for_saved_plans() -> None:
    plan = applied(BASE).plan(NEXT)
    for change in plan.changes:
        data = to_data(change.payload)
        assert json.loads(json.dumps(data)) == data
        assert from_data(type(change.payload), data) == change.payload


def test_a_face_of_a_new_person_waits_for_the_person_s_id() -> None:
    plan = empty_world().plan(BASE)
    face_change = next(c for c in plan.changes if str(c.address) == "staff/bob/b/1.jpg")
    assert face_change.payload == FaceSpec(
        group_id="staff",
        kind="personGroup",
        person_key="bob",
        person_id=None,
        sha256=sha("b/1.jpg"),
        path="b/1.jpg",
        abs_path=str(FOLDER / "b/1.jpg"),
        target_face=None,
        user_data=FACE_PREFIX + sha("b/1.jpg"),
        detection_model="detection_03",
        preexisting=(),
    )
    assert to_data(face_change.payload) == {
        "group_id": "staff",
        "kind": "personGroup",
        "person_key": "bob",
        "person_id": None,
        "sha256": sha("b/1.jpg"),
        "path": "b/1.jpg",
        "abs_path": str(FOLDER / "b/1.jpg"),
        "target_face": None,
        "user_data": FACE_PREFIX + sha("b/1.jpg"),
        "detection_model": "detection_03",
        "preexisting": [],
    }


def test_a_new_person_carries_the_ownership_marker_unless_the_manifest_sets_user_data() -> None:
    plan = empty_world().plan(
        manifest(group("staff", person("bob"), person("eve", user_data="mine")))
    )
    specs = [c.payload_as(PersonSpec) for c in plan.changes if c.address.type.value == "person"]
    data = {spec.person_key: spec.user_data for spec in specs}
    assert data == {"bob": PERSON_PREFIX + "bob", "eve": "mine"}


def test_an_update_sends_only_what_changed() -> None:
    world = applied(BASE)
    renamed = manifest(*(replace(g, name="New name") if g.group_id == "old" else g
                         for g in BASE.groups))
    (change,) = world.plan(renamed).changes
    assert change.payload == GroupUpdate(group_id="old", kind="personGroup", name="New name",
                                         user_data=None)
    assert change.before == {"name": "Old"} and change.after == {"name": "New name"}


def test_a_replaced_face_names_the_face_it_replaces() -> None:
    world = applied(BASE)
    plan = world.plan(NEXT)
    change = next(c for c in plan.changes if str(c.address) == "staff/alice/a/1.jpg")
    locked = world.lock.group("staff").person("alice").face(sha("a/1.jpg"))  # type: ignore
    spec = change.payload_as(FaceSpec)
    assert spec.old_persisted_face_id == locked.persisted_face_id  # type: ignore
    assert spec.target_face == (1, 2, 50, 60)
    assert to_data(spec)["target_face"] == [1, 2, 50, 60]
    assert change.reason == "targetFace: whole image -> [1, 2, 50, 60] forces replacement"
