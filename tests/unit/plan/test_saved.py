"""Saved plans: a faithful round trip, clear refusals, and the staleness check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator

from facesync.digest import image_key
from facesync.errors import PlanError
from facesync.markers import PERSON_PREFIX
from facesync.plan.model import Action, Address, Change, LockAction, LockUpdate, Plan
from facesync.plan.payloads import (
    AdoptFace,
    AdoptGroup,
    AdoptPerson,
    FaceRef,
    FaceSpec,
    FaceUpdate,
    Forget,
    GroupRef,
    GroupSpec,
    GroupUpdate,
    Move,
    Payload,
    PersonRef,
    PersonSpec,
    PersonUpdate,
    TrainSpec,
)
from facesync.plan.render import plan_to_json
from facesync.plan.saved import check_fresh, load_plan, plan_file_doc, save_plan
from facesync.schemas_dir import load_schema

from .builders import applied, face, group, lines, manifest, person, with_person
from .fake_server import FakePerson

BASE = manifest(group("staff", person("alice", face("a/1.jpg")), person("bob", face("b/1.jpg"))))
NEXT = with_person(
    manifest(group("staff", person("alice", face("a/1.jpg", target_face=(0, 0, 40, 40)),
                                   face("a/2.jpg")))),
    "staff", person("carol", face("c/1.jpg"), face("c/renamed.jpg", image="b/1.jpg")),
)


def _plan() -> Plan:
    world = applied(BASE)
    return world.plan(with_person(NEXT, "staff", person("bob", face("b/moved.jpg",
                                                                    image="b/1.jpg"))))


def test_a_saved_plan_reads_back_the_same_with_the_executor_s_data(tmp_path: Path) -> None:
    plan = _plan()
    save_plan(plan, tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert loaded == plan
    assert [c.payload for c in loaded.changes] == [c.payload for c in plan.changes]
    assert loaded.lock_updates == plan.lock_updates


# One change or lock-only update per payload type, every optional field set
# somewhere (and unset somewhere else).
G = {"group_id": "staff", "kind": "personGroup"}


def uid(n: int) -> str:
    """The n-th id of these tests, in the service's GUID form (as a saved plan must hold)."""
    return f"00000000-0000-0000-0000-{n:012x}"


SHA_A = image_key("a" * 64)
F = {**G, "person_key": "alice", "sha256": SHA_A}
EVERY_CHANGE = (
    Change(Address("staff"), Action.CREATE, "", None, {"name": "Staff"},
           payload=GroupSpec(**G, name="Staff", user_data=None, recognition_model="r4")),
    Change(Address("staff"), Action.REPLACE, "kind", {"kind": "x"}, None,
           payload=GroupSpec(**G, name="S", user_data="u", recognition_model="r4",
                             old_kind="largePersonGroup")),
    Change(Address("staff"), Action.UPDATE,
           payload=GroupUpdate(**G, name=None, user_data="")),
    Change(Address("old"), Action.DELETE, payload=GroupRef("old", "largePersonGroup")),
    Change(Address("staff"), Action.TRAIN, payload=TrainSpec(**G)),
    Change(Address("staff", "alice"), Action.CREATE,
           payload=PersonSpec(**G, person_key="alice", name="Alice", user_data="m",
                              preexisting=(uid(2), uid(3)))),
    Change(Address("staff", "alice"), Action.REPLACE,
           payload=PersonSpec(**G, person_key="alice", name="Alice", user_data=None,
                              person_id=uid(4))),
    Change(Address("staff", "alice"), Action.UPDATE,
           payload=PersonUpdate(**G, person_key="alice", person_id=uid(1), name="A",
                                user_data=None)),
    Change(Address("staff", "bob"), Action.DELETE,
           payload=PersonRef(**G, person_key="bob", person_id=uid(5))),
    Change(Address("staff", uid(6)), Action.DELETE,
           payload=PersonRef(**G, person_key="bob", person_id=uid(6), unrecorded=True)),
    Change(Address("staff", "alice", "a/1.jpg"), Action.CREATE,
           payload=FaceSpec(**F, person_id=None, path="a/1.jpg", abs_path="/g/a/1.jpg",
                            target_face=None, user_data=None, detection_model="detection_03")),
    Change(Address("staff", "alice", "a/2.jpg"), Action.REPLACE,
           payload=FaceSpec(**F, person_id=uid(1), path="a/2.jpg", abs_path="/g/a/2.jpg",
                            target_face=(1, 2, 30, 40), user_data="n",
                            detection_model="detection_01", preexisting=(uid(7),),
                            old_persisted_face_id=uid(8), old_sha256=image_key("b" * 64))),
    Change(Address("staff", "alice", "a/3.jpg"), Action.UPDATE,
           payload=FaceUpdate(**F, person_id=uid(1), persisted_face_id=uid(9), path="a/3.jpg",
                              user_data="note")),
    Change(Address("staff", "alice", "a/4.jpg"), Action.DELETE,
           payload=FaceRef(**F, person_id=uid(1), persisted_face_id=uid(9), path="a/4.jpg")),
    Change(Address("staff", "alice", uid(10)), Action.DELETE,
           payload=FaceRef(**F, person_id=uid(1), persisted_face_id=uid(10), path=uid(10),
                           unrecorded=True)),
)
EVERY_UPDATE = (
    LockUpdate(Address("staff", "alice", "a/5.jpg"), LockAction.MOVE, "same image",
               Move(**F, path="a/5.jpg")),
    LockUpdate(Address("gone"), LockAction.FORGET, "gone", Forget("gone", "personGroup")),
    LockUpdate(Address("staff", "eve"), LockAction.FORGET, "gone",
               Forget(**G, person_key="eve")),
    LockUpdate(Address("staff", "eve", "e.jpg"), LockAction.FORGET, "gone", Forget(**F)),
    LockUpdate(Address("team"), LockAction.ADOPT, "adopt",
               AdoptGroup("team", "personGroup", "r4", "digest-n", None, "succeeded")),
    LockUpdate(Address("staff", "carol"), LockAction.ADOPT, "adopt",
               AdoptPerson(**G, person_key="carol", person_id=uid(11), name_digest="digest-c",
                           user_data_digest="digest-u")),
    LockUpdate(Address("staff", "alice", "a/6.jpg"), LockAction.ADOPT, "adopt",
               AdoptFace(**F, path="a/6.jpg", persisted_face_id=uid(12), target_face=(0, 0, 9, 9),
                         detection_model="detection_03", user_data_digest=None)),
)
EVERY_PAYLOAD_PLAN = Plan(changes=EVERY_CHANGE, lock_updates=EVERY_UPDATE, endpoint="embedded")


def test_every_payload_type_survives_save_and_load(tmp_path: Path) -> None:
    shown = {type(c.payload) for c in EVERY_CHANGE} | {type(u.payload) for u in EVERY_UPDATE}
    assert shown == set(get_args(Payload))
    save_plan(EVERY_PAYLOAD_PLAN, tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert [c.payload for c in loaded.changes] == [c.payload for c in EVERY_CHANGE]
    assert [(c.address, c.action, c.reason, c.before, c.after) for c in loaded.changes] == [
        (c.address, c.action, c.reason, c.before, c.after) for c in EVERY_CHANGE]
    assert loaded.lock_updates == EVERY_UPDATE


def test_the_saved_data_keeps_the_keys_plan_files_always_had() -> None:
    """Version 1 files from before the payloads were typed still load."""
    doc = plan_file_doc(EVERY_PAYLOAD_PLAN)
    assert doc["format_version"] == 1
    assert doc["changes"][1]["data"] == {
        "group_id": "staff", "kind": "personGroup", "name": "S", "user_data": "u",
        "recognition_model": "r4", "old_kind": "largePersonGroup",
    }
    assert doc["changes"][10]["data"] == {
        "group_id": "staff", "kind": "personGroup", "person_key": "alice", "person_id": None,
        "sha256": SHA_A, "path": "a/1.jpg", "abs_path": "/g/a/1.jpg", "target_face": None,
        "user_data": None, "detection_model": "detection_03", "preexisting": [],
    }
    assert doc["changes"][14]["data"] == {
        "group_id": "staff", "kind": "personGroup", "person_key": "alice", "person_id": uid(1),
        "sha256": SHA_A, "persisted_face_id": uid(10), "path": uid(10), "unrecorded": True,
    }
    assert doc["lock_only"][1]["data"] == {"group_id": "gone", "kind": "personGroup"}
    assert doc["lock_only"][6]["data"]["target_face"] == [0, 0, 9, 9]
    assert "person_id" not in doc["changes"][5]["data"]
    assert "unrecorded" not in doc["changes"][8]["data"]


def test_a_plan_saved_before_lock_format_2_names_its_images_in_todays_keys(
    tmp_path: Path,
) -> None:
    doc = plan_file_doc(EVERY_PAYLOAD_PLAN)
    doc["changes"][10]["data"]["sha256"] = "a" * 64  # as facesync wrote it then
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    assert load_plan(path).changes[10].payload == EVERY_CHANGE[10].payload


def _damaged(tmp_path: Path, damage: Any) -> Path:
    doc = plan_file_doc(EVERY_PAYLOAD_PLAN)
    damage(doc)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    return path


def _set(part: str, index: int, key: str, value: Any) -> Any:
    return lambda doc: doc[part][index]["data"].__setitem__(key, value)


def _drop(part: str, index: int, key: str) -> Any:
    return lambda doc: doc[part][index]["data"].pop(key)


def _put(part: str, index: int, key: str, value: Any) -> Any:
    return lambda doc: doc[part][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (_set("changes", 0, "name", 7),
         "changes[0].data.name: expected a string, not 7"),
        (_set("changes", 5, "person_id", ["p"]),
         'changes[5].data.person_id: expected a string or null, not ["p"]'),
        (_set("changes", 5, "preexisting", "p-1"),
         'changes[5].data.preexisting: expected a list of strings, not "p-1"'),
        (_set("changes", 5, "preexisting", ["p-1", None]),
         'changes[5].data.preexisting: expected a list of strings, not ["p-1", null]'),
        (_set("changes", 5, "person_id", "../../persongroups/victim"),
         "changes[5].data.person_id: '../../persongroups/victim' is not a GUID"),
        (_set("changes", 9, "unrecorded", "yes"),
         'changes[9].data.unrecorded: expected true or false, not "yes"'),
        (_set("changes", 11, "target_face", [1, 2, 3]),
         "changes[11].data.target_face: expected a list of 4 integers or null, not [1, 2, 3]"),
        (_set("changes", 11, "target_face", [1, 2, 3, True]),
         "changes[11].data.target_face: expected a list of 4 integers or null"),
        (_set("changes", 11, "target_face", [1, 2, 3, 4.5]),
         "changes[11].data.target_face: expected a list of 4 integers or null"),
        (_drop("changes", 12, "persisted_face_id"),
         "changes[12].data.persisted_face_id: missing (a FaceUpdate needs it)"),
        (_set("changes", 3, "person_key", "alice"),
         "changes[3].data.person_key: not a field of a GroupRef"),
        (_put("changes", 4, "data", []),
         "changes[4].data: [] is not of type 'object'"),  # the schema's check
        (_put("changes", 4, "address", "staff/alice"),
         "changes[4].type: 'group' but 'staff/alice' is a person"),
        (lambda doc: doc["changes"][4].update(address="staff/alice", type="person"),
         "changes[4]: a person has no train change"),
        (_set("lock_only", 0, "path", None),
         "lock_only[0].data.path: expected a string, not null"),
        (_put("lock_only", 1, "action", "move"),
         "lock_only[1]: a group has no move update"),
        (_drop("lock_only", 3, "sha256"),
         "lock_only[3].data: forgets a person, but 'staff/eve/e.jpg' is a face"),
        (_drop("lock_only", 4, "training_status"),
         "lock_only[4].data.training_status: missing (an AdoptGroup needs it)"),
        (_set("lock_only", 5, "person id", 1),
         'lock_only[5].data["person id"]: not a field of an AdoptPerson'),
        (_set("lock_only", 5, "person_id\nx", 1), "lock_only[5].data["),
    ],
)
def test_a_damaged_payload_is_refused_in_one_line(tmp_path: Path, damage: Any, where: str) -> None:
    path = _damaged(tmp_path, damage)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(f"the plan file {path} is not a facesync plan ({where}")
    assert message.endswith("; save it again with `facesync plan -o`")
    assert "\n" not in message


def test_a_loaded_plan_applies_and_converges(tmp_path: Path) -> None:
    world = applied(BASE)
    target = with_person(NEXT, "staff", person("bob", face("b/moved.jpg", image="b/1.jpg")))
    save_plan(world.plan(target), tmp_path / "p.json")
    world.lock = world.server.run(load_plan(tmp_path / "p.json"), world.lock)
    assert lines(world.plan(target)) == []
    assert world.plan(target).lock_updates == ()


def test_a_saved_plan_records_where_it_came_from_and_matches_the_schema(tmp_path: Path) -> None:
    plan = _plan()
    save_plan(plan, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    assert (doc["manifest_digest"], doc["lock_serial"], doc["endpoint"]) == (
        plan.manifest_digest, plan.lock_serial, "embedded")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no plan file at"),
        ("{not json", "cannot be read as JSON"),
        ('{"format_version": 1}', "is not a facesync plan (top level: 'changes' is a required"),
        ('{"format_version": 9}', "has format version 9; this facesync reads version 1"),
        ("[]", "is not a facesync plan"),
    ],
)
def test_an_unusable_plan_file_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_the_printed_json_plan_cannot_be_applied(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan_to_json(_plan())))
    with pytest.raises(PlanError, match="printed by `plan --json`, which cannot be applied"):
        load_plan(path)


# --- staleness -----------------------------------------------------------------------------


def _fresh(plan: Plan) -> dict[str, object]:
    return {"manifest_digest": plan.manifest_digest, "lock_serial": plan.lock_serial,
            "endpoint": plan.endpoint}


def test_a_plan_made_from_the_current_inputs_is_fresh() -> None:
    plan = _plan()
    check_fresh(plan, **_fresh(plan))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moved", "message"),
    [
        ({"manifest_digest": "sha256:other"}, "the manifest or its images changed"),
        ({"lock_serial": 99}, "the lock file was written since (serial 0 -> 99)"),
        ({"endpoint": "https://face.example:443"},
         "it was made for embedded, not https://face.example:443"),
    ],
)
def test_a_stale_plan_is_refused_naming_what_moved(moved: dict[str, object], message: str) -> None:
    plan = _plan()
    with pytest.raises(PlanError) as caught:
        check_fresh(plan, **{**_fresh(plan), **moved})  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"the saved plan is stale: {message}; run `facesync plan -o FILE` again"
    )


def test_a_saved_plan_that_adopts_reads_back_and_converges(tmp_path: Path) -> None:
    world = applied(BASE)
    world.server.group("staff").persons[uid(13)] = FakePerson("carol", PERSON_PREFIX + "carol")
    target = with_person(BASE, "staff", person("carol", face("c/1.jpg")))
    save_plan(world.plan(target), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    loaded = load_plan(tmp_path / "p.json")
    assert [str(u) for u in loaded.adoptions] == [
        f"staff/carol  (adopt personId {uid(13)} left by an interrupted apply)"
    ]
    world.lock = world.server.run(loaded, world.lock)
    assert world.lock.group("staff").person("carol").person_id == uid(13)
    assert lines(world.plan(target)) == []
