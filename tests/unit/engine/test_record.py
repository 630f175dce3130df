"""record() after each successful call and finish() after an apply."""

from __future__ import annotations

from typing import Any

import pytest

from facesync.digest import text_digest
from facesync.engine.record import CallResult, begin, finish, record
from facesync.errors import PlanError
from facesync.plan.model import (
    Action,
    Address,
    Change,
    LockAction,
    LockUpdate,
    Plan,
    change_payload_type,
    lock_payload_type,
)
from facesync.plan.payloads import AdoptGroup, Forget, Move
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64
G = {"group_id": "staff", "kind": "personGroup"}


def _state(**group_fields: Any) -> LockState:
    alice = LockedPerson(
        "alice", "p-alice", text_digest("Alice") or "", text_digest("facesync:key=alice"),
        (LockedFace(SHA_A, "a/1.jpg", "f-a", None, "detection_03", text_digest("x")),),
    )
    fields: dict[str, Any] = dict(
        group_id="staff", kind="personGroup", recognition_model="recognition_04",
        name_digest=text_digest("Staff") or "", training_status="succeeded",
        needs_training=False, persons=(alice,),
    )
    fields.update(group_fields)
    return LockState("embedded", 3, (LockedGroup(**fields),))


def _change(address: str, action: Action, **fields: Any) -> Change:
    """A change with the payload its kind carries, built from `G` and `fields`."""
    parsed = Address.parse(address)
    kind = change_payload_type(parsed.type, action)
    assert kind is not None
    return Change(parsed, action, payload=kind(**{**G, **fields}))


def _staff(state: LockState) -> LockedGroup:
    group = state.group("staff")
    assert group is not None
    return group


def test_a_created_group_is_recorded_empty_untrained_and_needing_training() -> None:
    change = _change("team", Action.CREATE, group_id="team", name="Team", user_data=None,
                     recognition_model="recognition_03")
    team = record(_state(), change, CallResult()).group("team")
    assert team == LockedGroup("team", "personGroup", "recognition_03", text_digest("Team") or "",
                               None, None, True, ())


def test_a_replaced_group_forgets_every_old_id() -> None:
    change = _change("staff", Action.REPLACE, name="Staff", user_data=None,
                     recognition_model="recognition_03", old_kind="personGroup")
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.persons == () and staff.recognition_model == "recognition_03"


def test_a_group_update_records_only_what_was_sent() -> None:
    change = _change("staff", Action.UPDATE, name=None, user_data="")
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.name_digest == text_digest("Staff")
    assert staff.user_data_digest == text_digest("")
    assert staff.needs_training is False


def test_a_deleted_group_leaves_the_lock() -> None:
    assert record(_state(), _change("staff", Action.DELETE), CallResult()).groups == ()


def test_a_created_person_gets_its_id_and_the_group_needs_training() -> None:
    change = _change("staff/bob", Action.CREATE, person_key="bob", name="Bob",
                     user_data="facesync:key=bob")
    staff = _staff(record(_state(), change, CallResult(person_id="p-bob")))
    assert [p.key for p in staff.persons] == ["alice", "bob"]
    assert staff.person("bob") == LockedPerson("bob", "p-bob", text_digest("Bob") or "",
                                               text_digest("facesync:key=bob"), ())
    assert staff.needs_training


def test_a_person_created_again_after_drift_starts_without_faces() -> None:
    change = _change("staff/alice", Action.CREATE, person_key="alice", name="Alice",
                     user_data="facesync:key=alice")
    alice = _staff(record(_state(), change, CallResult(person_id="p-new"))).person("alice")
    assert alice is not None and alice.person_id == "p-new" and alice.faces == ()


def test_a_person_update_changes_digests_and_does_not_need_training() -> None:
    change = _change("staff/alice", Action.UPDATE, person_key="alice", person_id="p-alice",
                     name="Alice E.", user_data=None)
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.person("alice").name_digest == text_digest("Alice E.")  # type: ignore
    assert not staff.needs_training


def test_a_deleted_person_leaves_the_lock() -> None:
    change = _change("staff/alice", Action.DELETE, person_key="alice", person_id="p-alice")
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.persons == () and staff.needs_training


def _face_data(sha: str, path: str, **more: Any) -> dict[str, Any]:
    return dict(person_key="alice", person_id="p-alice", sha256=sha, path=path,
                abs_path="/g/" + path, target_face=(1, 2, 30, 40), user_data="u",
                detection_model="detection_01", **more)


def test_a_created_face_is_recorded_with_its_persisted_face_id_sorted_by_sha() -> None:
    change = _change("staff/alice/b.jpg", Action.CREATE, **_face_data(SHA_B, "b.jpg"))
    alice = _staff(record(_state(), change, CallResult(persisted_face_id="f-b"))).person("alice")
    assert alice is not None
    assert alice.faces[1] == LockedFace(SHA_B, "b.jpg", "f-b", (1, 2, 30, 40), "detection_01",
                                        text_digest("u"))
    assert [f.sha256 for f in alice.faces] == [SHA_A, SHA_B]


def test_a_replaced_face_drops_the_old_image() -> None:
    data = _face_data(SHA_C, "a/1.jpg", old_persisted_face_id="f-a", old_sha256=SHA_A)
    change = _change("staff/alice/a/1.jpg", Action.REPLACE, **data)
    alice = _staff(record(_state(), change, CallResult(persisted_face_id="f-c"))).person("alice")
    assert [(f.sha256, f.persisted_face_id) for f in alice.faces] == [(SHA_C, "f-c")]  # type: ignore


def test_a_replace_recorded_half_way_forgets_the_old_face_so_the_next_plan_creates_it() -> None:
    data = _face_data(SHA_A, "a/1.jpg", old_persisted_face_id="f-a", old_sha256=SHA_A)
    change = _change("staff/alice/a/1.jpg", Action.REPLACE, **data)
    assert _staff(record(_state(), change, CallResult())).person("alice").faces == ()  # type: ignore


def test_a_face_update_records_the_new_user_data_digest_and_path() -> None:
    change = _change("staff/alice/a/one.jpg", Action.UPDATE, person_key="alice",
                     person_id="p-alice", sha256=SHA_A, persisted_face_id="f-a",
                     path="a/one.jpg", user_data="new")
    staff = _staff(record(_state(), change, CallResult()))
    face = staff.person("alice").face(SHA_A)  # type: ignore[union-attr]
    assert (face.user_data_digest, face.path) == (text_digest("new"), "a/one.jpg")  # type: ignore
    assert not staff.needs_training


def test_a_deleted_face_leaves_the_lock_and_the_group_needs_training() -> None:
    change = _change("staff/alice/a/1.jpg", Action.DELETE, person_key="alice",
                     person_id="p-alice", sha256=SHA_A, persisted_face_id="f-a", path="a/1.jpg")
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.person("alice").faces == () and staff.needs_training  # type: ignore


@pytest.mark.parametrize(
    ("status", "needs_training"),
    [("succeeded", False), ("running", False), ("failed", True), ("Succeeded", False)],
)
def test_a_training_records_its_status(status: str, needs_training: bool) -> None:
    staff = _staff(record(_state(needs_training=True), _change("staff", Action.TRAIN),
                          CallResult(training_status=status)))
    assert (staff.training_status, staff.needs_training) == (status.lower(), needs_training)


def test_recording_into_a_group_the_lock_does_not_have_is_a_clear_error() -> None:
    change = _change("team/bob", Action.CREATE, group_id="team", person_key="bob", name="Bob",
                     user_data=None)
    with pytest.raises(PlanError, match="group 'team' is not in the lock; plan again"):
        record(_state(), change, CallResult(person_id="p"))


def test_record_never_changes_the_serial_or_endpoint() -> None:
    trained = CallResult(training_status="succeeded")
    state = record(_state(), _change("staff", Action.TRAIN), trained)
    assert (state.serial, state.endpoint) == (3, "embedded")


# --- finish ---------------------------------------------------------------------------------


def _plan(*updates: LockUpdate) -> Plan:
    return Plan(lock_updates=updates)


def test_finish_records_a_moved_image_s_new_path() -> None:
    move = LockUpdate(Address("staff", "alice", "a/new.jpg"), LockAction.MOVE, "",
                      Move(**G, person_key="alice", sha256=SHA_A, path="a/new.jpg"))
    face = _staff(finish(_state(), _plan(move))).person("alice").face(SHA_A)  # type: ignore
    assert face.path == "a/new.jpg"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "left"),
    [
        ({**G}, None),
        ({**G, "person_key": "alice"}, ()),
        ({**G, "person_key": "alice", "sha256": SHA_A}, (("alice", ()),)),
    ],
)
def test_finish_forgets_what_is_gone_from_both_sides(data: dict[str, Any], left: Any) -> None:
    forget = LockUpdate(Address("staff"), LockAction.FORGET, "", Forget(**data))
    staff = finish(_state(), _plan(forget)).group("staff")
    if left is None:
        assert staff is None
    else:
        assert staff is not None
        assert tuple((p.key, p.faces) for p in staff.persons) == left


def test_finish_skips_updates_of_objects_no_longer_recorded() -> None:
    forget = LockUpdate(Address("team"), LockAction.FORGET, "", Forget("team", "x"))
    assert finish(_state(), _plan(forget)) == _state()


def test_finish_without_lock_updates_changes_nothing() -> None:
    assert finish(_state(), Plan()) == _state()


# --- adoption and unrecorded objects ------------------------------------------------------


def _adopt(address: str, **fields: Any) -> LockUpdate:
    """An adoption with the payload of its address's kind, built from `G` and `fields`."""
    parsed = Address.parse(address)
    kind = lock_payload_type(parsed.type, LockAction.ADOPT)
    assert kind is not None
    return LockUpdate(parsed, LockAction.ADOPT, "adopt ...", kind(**{**G, **fields}))


BOB_ADOPTED = _adopt("staff/bob", person_key="bob", person_id="p-bob",
                     name_digest=text_digest("Bob"), user_data_digest=text_digest("m"))
BOB_FACE = _adopt("staff/bob/b/1.jpg", person_key="bob", sha256=SHA_B, path="b/1.jpg",
                  persisted_face_id="f-b", target_face=(1, 2, 3, 4),
                  detection_model="detection_03", user_data_digest=text_digest("n"))


def test_begin_records_adopted_persons_before_their_faces() -> None:
    plan = Plan(lock_updates=(BOB_FACE, BOB_ADOPTED))  # any order in the plan
    staff = _staff(begin(_state(), plan))
    bob = staff.person("bob")
    assert bob is not None and bob.person_id == "p-bob"
    assert bob.faces == (LockedFace(SHA_B, "b/1.jpg", "f-b", (1, 2, 3, 4), "detection_03",
                                    text_digest("n")),)
    assert staff.needs_training


def test_an_adoption_is_recorded_once_whatever_ran_after_it() -> None:
    plan = Plan(lock_updates=(BOB_ADOPTED, BOB_FACE))
    started = begin(_state(), plan)
    face_c = _change("staff/bob/b/2.jpg", Action.CREATE, person_key="bob", person_id="p-bob",
                     sha256=SHA_C, path="b/2.jpg", abs_path="/g/b/2.jpg", target_face=None,
                     user_data=None,
                     detection_model="detection_03")
    ran = record(started, face_c, CallResult(persisted_face_id="f-c"))
    assert begin(ran, plan) == ran
    assert finish(ran, plan) == ran


def test_an_adopted_group_is_recorded_needing_training() -> None:
    update = LockUpdate(Address("team"), LockAction.ADOPT, "adopt ...", AdoptGroup(
        group_id="team", kind="personGroup", recognition_model="recognition_04",
        name_digest=text_digest("Team") or "", user_data_digest=None, training_status=None,
    ))
    team = begin(_state(), Plan(lock_updates=(update,))).group("team")
    assert team == LockedGroup("team", "personGroup", "recognition_04", text_digest("Team") or "",
                               None, None, True, ())


def test_deleting_an_unrecorded_duplicate_person_keeps_the_recorded_one() -> None:
    change = _change("staff/alice", Action.DELETE, person_key="alice", person_id="p-dup",
                     unrecorded=True)
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.person("alice") == _staff(_state()).person("alice")
    assert staff.needs_training


def test_deleting_an_unrecorded_duplicate_face_keeps_the_recorded_one() -> None:
    change = _change("staff/alice/f-dup", Action.DELETE, person_key="alice", person_id="p-alice",
                     sha256=SHA_A, persisted_face_id="f-dup", path="f-dup", unrecorded=True)
    staff = _staff(record(_state(), change, CallResult()))
    assert staff.person("alice").faces == _staff(_state()).person("alice").faces
    assert staff.needs_training
