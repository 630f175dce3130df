"""Adoption: what facesync created but never recorded is adopted or cleaned up;
what it cannot prove its own is never touched (docs/recovery.md)."""

from __future__ import annotations

import pytest

from facesync.digest import text_digest
from facesync.errors import PlanError
from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from facesync.plan.model import Plan
from facesync.plan.payloads import AdoptFace, AdoptPerson, FaceSpec, PersonRef, PersonSpec
from facesync.state.journal import (
    ADD_FACE,
    CREATE_GROUP,
    CREATE_PERSON,
    RETIRE_FACE,
    Intent,
    user_data_digest,
)

from .builders import World, applied, empty_world, face, group, manifest, person, sha
from .fake_server import FakeGroup, FakePerson

ALICE = person("alice", face("a/1.jpg"), face("a/2.jpg"), name="Alice")
BOB = person("bob", face("b/1.jpg"), name="Bob")
FULL = manifest(group("staff", ALICE, BOB))
ONLY_BOB = manifest(group("staff", BOB))


def changes(plan: Plan) -> list[str]:
    """`+ staff/alice/a/2.jpg`-style lines, adoptions (`=`) first, no reasons."""
    adopted = [f"= {u.address}" for u in plan.adoptions]
    return adopted + [f"{c.action.symbol} {c.address}" for c in plan.changes]


def crashed_after_creating_alice(faces: dict[str, str | None] | None = None,
                                 person_id: str = "p-crash") -> World:
    """bob applied; then an apply created alice (and `faces`) and died before the
    lock write: the server has them, carrying facesync's markers, the lock does not."""
    world = applied(ONLY_BOB)
    world.server.group("staff").persons[person_id] = FakePerson(
        "Alice", PERSON_PREFIX + "alice", dict(faces or {})
    )
    return world


def marked(label: str) -> str:
    return FACE_PREFIX + sha(label)


def assert_converged(world: World, m) -> None:
    """A second plan is empty and the lock names exactly the server's ids."""
    again = world.plan(m)
    assert changes(again) == [], changes(again)
    server = world.server.group("staff").persons
    lock = world.lock.group("staff")
    assert {p.person_id for p in lock.persons} == set(server)
    for p in lock.persons:
        assert {f.persisted_face_id for f in p.faces} == set(server[p.person_id].faces)


def alice_intent(group: str = "staff", **fields) -> Intent:
    """The intent of creating Alice with the userData the manifest sets (no marker)."""
    return Intent(CREATE_PERSON, group, "personGroup", person="alice",
                  name_digest=text_digest("Alice"),
                  user_data_digest=user_data_digest("employee 7"), **fields)


# --- persons ------------------------------------------------------------------------------


def test_a_person_marked_as_ours_is_adopted_and_not_created_again() -> None:
    world = crashed_after_creating_alice()
    plan = world.plan(FULL)
    assert changes(plan) == [
        "= staff/alice", "+ staff/alice/a/1.jpg", "+ staff/alice/a/2.jpg", "* staff"
    ]
    (adoption,) = plan.adoptions
    assert str(adoption) == "staff/alice  (adopt personId p-crash left by an interrupted apply)"
    world.apply(FULL)
    assert world.lock.group("staff").person("alice").person_id == "p-crash"
    assert len(world.server.group("staff").persons) == 2
    assert_converged(world, FULL)


def test_a_person_with_its_faces_marked_as_ours_is_adopted_with_them() -> None:
    world = crashed_after_creating_alice({"f-1": marked("a/1.jpg")})
    plan = world.plan(FULL)
    assert changes(plan) == [
        "= staff/alice", "= staff/alice/a/1.jpg", "+ staff/alice/a/2.jpg", "* staff"
    ]
    world.apply(FULL)
    face = world.lock.group("staff").person("alice").face(sha("a/1.jpg"))
    assert face.persisted_face_id == "f-1" and face.path == "a/1.jpg"
    assert_converged(world, FULL)


def test_a_person_matching_a_pending_intent_is_adopted() -> None:
    m = manifest(group("staff", person("alice", name="Alice", user_data="employee 7"), BOB))
    world = applied(ONLY_BOB)
    world.server.group("staff").persons["p-lost"] = FakePerson("Alice", "employee 7")
    intent = alice_intent()
    assert changes(world.plan(m, intents=[intent])) == ["= staff/alice", "* staff"]
    world.apply(m, intents=[intent])
    assert world.lock.group("staff").person("alice").person_id == "p-lost"
    assert_converged(world, m)


def test_a_person_that_was_there_before_the_intent_is_never_taken_for_ours() -> None:
    m = manifest(group("staff", person("alice", name="Alice", user_data="employee 7"), BOB))
    world = applied(ONLY_BOB)
    world.server.group("staff").persons["p-theirs"] = FakePerson("Alice", "employee 7")
    intent = alice_intent(preexisting=frozenset({"p-theirs"}))
    plan = world.plan(m, intents=[intent])
    assert changes(plan) == ["+ staff/alice", "* staff"]
    assert [u.address for u in plan.unmanaged] == ["staff/p-theirs"]


def test_a_create_records_the_look_alikes_already_there_for_its_intent() -> None:
    m = manifest(group("staff", person("alice", name="Alice", user_data="employee 7"), BOB))
    world = applied(ONLY_BOB)
    world.server.group("staff").persons["p-theirs"] = FakePerson("Alice", "employee 7")
    world.server.group("staff").persons["p-other"] = FakePerson("Alice", "employee 8")
    create = next(c for c in world.plan(m).changes if str(c.address) == "staff/alice")
    assert create.payload_as(PersonSpec).preexisting == ("p-theirs",)


@pytest.mark.parametrize(
    ("name", "user_data", "intent_group"),
    [
        ("Alice", None, None),  # same name, no marker, no intent
        ("Alice", "employee 7", None),  # same name and userData, no intent
        ("Alice", "employee 7", "other"),  # an intent, but for another group
        ("Alicia", "employee 7", "staff"),  # an intent, but another name
    ],
)
def test_a_stranger_is_never_adopted_or_deleted(name, user_data, intent_group) -> None:
    m = manifest(group("staff", person("alice", name="Alice", user_data="employee 7"), BOB))
    world = applied(ONLY_BOB)
    world.server.group("staff").persons["p-stranger"] = FakePerson(name, user_data)
    intents = [alice_intent(group=intent_group)] if intent_group else []
    plan = world.plan(m, intents=intents)
    assert changes(plan) == ["+ staff/alice", "* staff"]
    assert [u.address for u in plan.unmanaged] == ["staff/p-stranger"]
    world.apply(m, intents=intents)
    assert world.server.group("staff").persons["p-stranger"].name == name


def test_duplicates_of_ours_are_deleted_and_the_one_with_most_faces_adopted() -> None:
    world = crashed_after_creating_alice({"f-1": marked("a/1.jpg")}, person_id="p-b")
    staff = world.server.group("staff")
    staff.persons["p-a"] = FakePerson("Alice", PERSON_PREFIX + "alice")
    staff.persons["p-c"] = FakePerson("Alice", PERSON_PREFIX + "alice")
    plan = world.plan(FULL)
    assert changes(plan) == [
        "= staff/alice", "= staff/alice/a/1.jpg",
        "- staff/alice", "- staff/alice", "+ staff/alice/a/2.jpg", "* staff",
    ]
    assert [c.reason for c in plan.changes if c.action.value == "delete"] == [
        "duplicate personId p-a left by an interrupted apply",
        "duplicate personId p-c left by an interrupted apply",
    ]
    assert plan.counts() == {"add": 1, "change": 0, "destroy": 2, "train": 1}
    world.apply(FULL)
    assert sorted(world.server.group("staff").persons) == sorted(
        [world.lock.group("staff").person("bob").person_id, "p-b"]
    )
    assert_converged(world, FULL)


def test_among_equals_the_smallest_person_id_is_adopted() -> None:
    world = crashed_after_creating_alice(person_id="p-2")
    world.server.group("staff").persons["p-1"] = FakePerson("Alice", PERSON_PREFIX + "alice")
    plan = world.plan(FULL)
    assert plan.adoptions[0].payload_as(AdoptPerson).person_id == "p-1"
    assert [c.payload_as(PersonRef).person_id for c in plan.changes
            if c.action.value == "delete"] == ["p-2"]


def test_ours_for_a_key_the_lock_has_alive_is_a_duplicate_and_deleted() -> None:
    world = applied(FULL)
    world.server.group("staff").persons["p-extra"] = FakePerson("Bob", PERSON_PREFIX + "bob")
    plan = world.plan(FULL)
    assert changes(plan) == ["- staff/bob", "* staff"]
    assert plan.changes[0].reason == "duplicate personId p-extra left by an interrupted apply"
    world.apply(FULL)
    assert "p-extra" not in world.server.group("staff").persons
    assert_converged(world, FULL)


def test_ours_for_a_key_the_manifest_no_longer_has_is_an_orphan_and_deleted() -> None:
    world = applied(FULL)
    world.server.group("staff").persons["p-old"] = FakePerson("Carol", PERSON_PREFIX + "carol")
    plan = world.plan(FULL)
    assert changes(plan) == ["- staff/carol", "* staff"]
    assert "not in the manifest" in plan.changes[0].reason
    world.apply(FULL)
    assert_converged(world, FULL)


def test_ours_replaces_a_recorded_person_the_server_lost() -> None:
    world = applied(FULL)
    staff = world.server.group("staff")
    old = world.lock.group("staff").person("alice").person_id
    del staff.persons[old]
    staff.persons["p-new"] = FakePerson(
        "Alice", PERSON_PREFIX + "alice", {"f-9": marked("a/2.jpg")}
    )
    plan = world.plan(FULL)
    assert changes(plan) == [
        "= staff/alice", "= staff/alice/a/2.jpg", "+ staff/alice/a/1.jpg", "* staff"
    ]
    world.apply(FULL)
    assert world.lock.group("staff").person("alice").person_id == "p-new"
    assert_converged(world, FULL)


def test_a_marker_that_names_no_valid_key_is_deleted_under_its_person_id() -> None:
    world = applied(FULL)
    world.server.group("staff").persons["p-odd"] = FakePerson("X", PERSON_PREFIX + "a/b c")
    assert changes(world.plan(FULL)) == ["- staff/p-odd", "* staff"]


# --- faces --------------------------------------------------------------------------------------


def alice_with(world: World, **faces: str | None) -> FakePerson:
    _, alice = world.server.person_named("staff", "Alice")
    alice.faces.update(faces)
    return alice


def test_a_face_marked_as_ours_is_adopted_when_the_lock_lacks_it() -> None:
    m = manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice"), BOB))
    world = applied(m)
    assert changes(world.plan(FULL)) == ["+ staff/alice/a/2.jpg", "* staff"]
    alice_with(world, **{"f-lost": marked("a/2.jpg")})
    plan = world.plan(FULL)
    assert changes(plan) == ["= staff/alice/a/2.jpg", "* staff"]
    world.apply(FULL)
    assert_converged(world, FULL)


def test_duplicate_faces_of_ours_keep_the_smallest_id_and_lose_the_others() -> None:
    m = manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice"), BOB))
    world = applied(m)
    alice_with(world, **{"f-2": marked("a/2.jpg"), "f-1": marked("a/2.jpg")})
    plan = world.plan(FULL)
    assert changes(plan) == ["= staff/alice/a/2.jpg", "- staff/alice/f-2", "* staff"]
    assert plan.adoptions[0].payload_as(AdoptFace).persisted_face_id == "f-1"
    assert plan.changes[0].reason == "duplicate of a/2.jpg left by an interrupted apply"
    world.apply(FULL)
    assert_converged(world, FULL)


def test_a_face_of_ours_that_duplicates_a_recorded_live_face_is_deleted() -> None:
    world = applied(FULL)
    alice_with(world, **{"f-dup": marked("a/1.jpg")})
    assert changes(world.plan(FULL)) == ["- staff/alice/f-dup", "* staff"]
    world.apply(FULL)
    assert_converged(world, FULL)


def test_a_face_of_ours_for_an_image_the_manifest_dropped_is_deleted() -> None:
    world = applied(FULL)
    alice_with(world, **{"f-old": marked("a/gone.jpg")})
    plan = world.plan(FULL)
    assert changes(plan) == ["- staff/alice/f-old", "* staff"]
    assert plan.changes[0].reason == "image not in the manifest, left by an interrupted apply"


def test_a_face_matching_a_pending_intent_is_adopted_unless_it_was_there_before() -> None:
    noted = person("alice", face("a/1.jpg"), face("a/2.jpg", user_data="smiling"), name="Alice")
    m = manifest(group("staff", noted, BOB))
    world = applied(manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice"), BOB)))
    alice = alice_with(world, **{"f-new": "smiling", "f-old": "smiling"})
    alice_id = world.lock.group("staff").person("alice").person_id
    intent = Intent(ADD_FACE, "staff", "personGroup", person="alice", person_id=alice_id,
                    sha256=sha("a/2.jpg"), user_data_digest=user_data_digest("smiling"),
                    preexisting=frozenset({"f-old"}))
    plan = world.plan(m, intents=[intent])
    assert changes(plan) == ["= staff/alice/a/2.jpg", "* staff"]
    assert [u.address for u in plan.unmanaged] == ["staff/alice/f-old"]
    world.apply(m, intents=[intent])
    assert "f-old" in alice.faces
    assert world.lock.group("staff").person("alice").face(sha("a/2.jpg")).persisted_face_id == (
        "f-new"
    )


def test_a_face_without_marker_or_intent_stays_unmanaged_and_untouched() -> None:
    world = applied(FULL)
    alice = alice_with(world, **{"f-hand": "added by hand", "f-none": None})
    plan = world.plan(FULL)
    assert changes(plan) == []
    assert sorted(u.address for u in plan.unmanaged) == [
        "staff/alice/f-hand", "staff/alice/f-none"
    ]
    world.apply(FULL)
    assert {"f-hand", "f-none"} <= set(alice.faces)


def test_a_face_add_records_the_look_alikes_already_on_the_person() -> None:
    noted = person("alice", face("a/1.jpg"), face("a/2.jpg", user_data="smiling"), name="Alice")
    world = applied(manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice"), BOB)))
    alice_with(world, **{"f-same": "smiling", "f-other": "frowning"})
    plan = world.plan(manifest(group("staff", noted, BOB)))
    add = next(c for c in plan.changes if str(c.address) == "staff/alice/a/2.jpg")
    assert add.payload_as(FaceSpec).preexisting == ("f-same",)


# --- groups ------------------------------------------------------------------------------------


def test_a_group_whose_create_lost_its_answer_is_adopted_from_the_journal() -> None:
    world = empty_world()
    world.server.groups[("personGroup", "staff")] = FakeGroup("Staff", None, "recognition_04")
    intent = Intent(CREATE_GROUP, "staff", "personGroup")
    plan = world.plan(FULL, intents=[intent])
    assert changes(plan)[:2] == ["= staff", "+ staff/alice"]
    assert "+ staff" not in changes(plan)
    assert plan.unmanaged == ()
    world.apply(FULL, intents=[intent])
    assert world.lock.group("staff") is not None
    assert_converged(world, FULL)


@pytest.mark.parametrize("intent_kind", [None, "largePersonGroup"])
def test_a_group_is_never_adopted_without_an_intent_for_its_id_and_kind(intent_kind) -> None:
    world = empty_world()
    world.server.groups[("personGroup", "staff")] = FakeGroup("Theirs", None, "recognition_04")
    intents = [Intent(CREATE_GROUP, "staff", intent_kind)] if intent_kind else []
    with pytest.raises(PlanError, match="already exists on the server"):
        world.plan(FULL, intents=intents)


def test_an_adopted_group_adopts_the_persons_the_interrupted_apply_made_in_it() -> None:
    world = empty_world()
    staff = FakeGroup("Staff", None, "recognition_04")
    staff.persons["p-1"] = FakePerson("Bob", PERSON_PREFIX + "bob", {"f-1": marked("b/1.jpg")})
    world.server.groups[("personGroup", "staff")] = staff
    plan = world.plan(FULL, intents=[Intent(CREATE_GROUP, "staff", "personGroup")])
    assert [f"= {u.address}" for u in plan.adoptions] == [
        "= staff", "= staff/bob", "= staff/bob/b/1.jpg"
    ]


# --- what adoption leaves alone --------------------------------------------------------------


def test_nothing_is_adopted_in_a_group_that_is_replaced() -> None:
    world = crashed_after_creating_alice()
    m = manifest(group("staff", ALICE, BOB, recognition_model="recognition_03"))
    plan = world.plan(m)
    assert plan.adoptions == ()
    assert changes(plan)[0] == "-/+ staff"


def test_without_a_refresh_nothing_is_adopted() -> None:
    world = crashed_after_creating_alice()
    assert world.plan(FULL, refresh=False).adoptions == ()


def test_an_adoption_alone_trains_the_group() -> None:
    m = manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice"), BOB))
    world = applied(manifest(group("staff", person("alice", name="Alice"), BOB)))
    alice_with(world, **{"f-1": marked("a/1.jpg")})
    plan = world.plan(m)
    assert changes(plan) == ["= staff/alice/a/1.jpg", "* staff"]
    assert plan.changes[-1].reason == "adopted persons or faces"


def test_a_target_elsewhere_leaves_adoption_for_later() -> None:
    world = crashed_after_creating_alice()
    from facesync.plan.model import Address

    plan = world.plan(FULL, target=Address("staff", "bob"))
    assert plan.adoptions == ()


# --- the old face of a replacement (add first, then delete) -----------------------------------


def _half_replaced(user_data: str | None) -> tuple[World, object, Intent, str]:
    """alice's a/1.jpg was replaced by new bytes at the same path: the new face was
    added and recorded, then the apply died before deleting the old face."""
    before = manifest(group("staff", person("alice", face("a/1.jpg", user_data=user_data),
                                            name="Alice"), BOB))
    after = manifest(group("staff", person("alice", face("a/1.jpg", image="v2",
                                                         user_data=user_data),
                                           name="Alice"), BOB))
    world = applied(before)
    locked = world.lock.group("staff").person("alice")
    old_id = locked.faces[0].persisted_face_id
    retire = Intent(RETIRE_FACE, "staff", "personGroup", person="alice",
                    person_id=locked.person_id, sha256=sha("a/1.jpg"), face_id=old_id)
    world.apply(after)  # today's order leaves nothing behind; put the old face back:
    alice_with(world, **{old_id: user_data})
    return world, after, retire, old_id


@pytest.mark.parametrize("user_data", [None, "employee 7"])
def test_the_old_face_of_an_interrupted_replacement_is_deleted(user_data) -> None:
    world, after, retire, old_id = _half_replaced(user_data)
    plan = world.plan(after, intents=[retire])
    assert changes(plan) == [f"- staff/alice/{old_id}", "* staff"]
    (change,) = [c for c in plan.changes if c.address.type.value == "face"]
    assert change.reason == "old face of a replacement left by an interrupted apply"
    world.apply(after, intents=[retire])
    _, alice = world.server.person_named("staff", "Alice")
    assert old_id not in alice.faces and len(alice.faces) == 1


def test_without_the_retire_intent_an_unmarked_old_face_is_left_alone() -> None:
    world, after, _, old_id = _half_replaced("employee 7")
    plan = world.plan(after)
    assert changes(plan) == []
    assert [u.address for u in plan.unmanaged] == [f"staff/alice/{old_id}"]
