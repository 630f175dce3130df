"""--no-refresh (compare with the lock alone), --target, and the order of changes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from facesync.errors import PlanError
from facesync.plan.diff import diff
from facesync.plan.model import Address
from facesync.state.model import LockState

from .builders import applied, empty_world, face, group, lines, manifest, person, with_person

ALICE = person("alice", face("alice/01.jpg"), name="Alice")
BOB = person("bob", face("bob/01.jpg"))
BASE = manifest(group("staff", ALICE, BOB), group("visitors", person("vic", face("v.jpg"))))


# --- --no-refresh ---------------------------------------------------------------


def test_without_a_refresh_an_unchanged_manifest_plans_nothing() -> None:
    assert lines(applied(BASE).plan(BASE, refresh=False)) == []


def test_without_a_refresh_a_name_change_is_found_through_the_lock_digests() -> None:
    plan = applied(BASE).plan(with_person(BASE, "staff", replace(ALICE, name="Alice E.")),
                              refresh=False)
    assert lines(plan) == ["~ staff/alice"]
    assert plan.changes[0].reason == 'name: (recorded digest) -> "Alice E."'


def test_without_a_refresh_drift_is_not_seen() -> None:
    world = applied(BASE)
    world.server.groups.clear()
    assert lines(world.plan(BASE, refresh=False)) == []


def test_without_a_refresh_an_untrained_lock_trains() -> None:
    world = applied(BASE)
    staff = world.lock.group("staff")
    world.lock = replace(world.lock, groups=(replace(staff, training_status=None),  # type: ignore
                                             world.lock.group("visitors")))
    assert lines(world.plan(BASE, refresh=False)) == ["* staff"]


# --- --target -------------------------------------------------------------------------


def _changed_everywhere():  # type: ignore[no-untyped-def]
    m = with_person(BASE, "staff", replace(ALICE, name="Alice E."))
    m = with_person(m, "staff", person("bob", face("bob/01.jpg"), face("bob/02.jpg")))
    return with_person(m, "visitors", person("vic", face("v.jpg"), face("v2.jpg")))


def test_a_person_target_keeps_only_that_person_s_changes_and_the_group_s_training() -> None:
    plan = applied(BASE).plan(_changed_everywhere(), target=Address("staff", "bob"))
    assert lines(plan) == ["+ staff/bob/bob/02.jpg", "* staff"]


def test_a_group_target_keeps_the_whole_group() -> None:
    plan = applied(BASE).plan(_changed_everywhere(), target=Address("staff"))
    assert lines(plan) == ["~ staff/alice", "+ staff/bob/bob/02.jpg", "* staff"]


def test_several_targets_keep_what_is_inside_any_of_them() -> None:
    world = applied(BASE)
    plan = diff(_changed_everywhere(), world.lock, world.observed(),
                target=[Address("staff", "alice"), Address("visitors")])
    assert lines(plan) == ["~ staff/alice", "+ visitors/vic/v2.jpg", "* visitors"]


def test_a_target_inside_a_new_group_brings_the_group_s_creation() -> None:
    plan = empty_world().plan(BASE, target=Address("staff", "bob"))
    assert lines(plan) == ["+ staff", "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"]


def test_a_person_target_leaves_out_other_persons_training_needs() -> None:
    world = applied(BASE)
    world.server.group("staff").training = "failed"
    assert lines(world.plan(BASE, target=Address("staff", "bob"))) == []
    assert lines(world.plan(BASE, target=Address("staff"))) == ["* staff"]


def test_a_target_narrows_lock_only_updates_and_unmanaged_objects_too() -> None:
    world = applied(BASE)
    from .fake_server import FakePerson

    world.server.group("visitors").persons["p9"] = FakePerson("Guest", None)
    moved = with_person(BASE, "staff", person("bob", face("bob/renamed.jpg", image="bob/01.jpg")))
    plan = world.plan(moved, target=Address("visitors"))
    assert plan.lock_updates == ()
    assert [u.address for u in plan.unmanaged] == ["visitors/p9"]
    plan = world.plan(moved, target=Address("staff", "bob"))
    assert [str(u.address) for u in plan.lock_updates] == ["staff/bob/bob/renamed.jpg"]
    assert plan.unmanaged == ()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (Address("staf"), "--target staf: no group 'staf' in the manifest or the lock"),
        (Address("staff", "carol"),
         "--target staff/carol: no person 'carol' in group 'staff' of the manifest or the lock"),
    ],
)
def test_a_mistyped_target_is_an_error_not_an_empty_plan(target: Address, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        applied(BASE).plan(BASE, target=target)
    assert str(caught.value) == message


def test_a_target_may_name_what_only_the_lock_still_knows() -> None:
    world = applied(BASE)
    plan = world.plan(manifest(group("staff", ALICE, BOB)), target=Address("visitors"))
    assert lines(plan) == ["- visitors"]


# --- order and determinism --------------------------------------------------------------


def test_changes_are_sorted_by_address_with_each_group_s_training_last() -> None:
    plan = empty_world().plan(BASE)
    assert lines(plan) == [
        "+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/bob",
        "+ staff/bob/bob/01.jpg", "* staff",
        "+ visitors", "+ visitors/vic", "+ visitors/vic/v.jpg", "* visitors",
    ]


def test_the_same_inputs_give_the_same_plan() -> None:
    world = applied(BASE)
    m = _changed_everywhere()
    first, second = world.plan(m), world.plan(m)
    assert first == second
    assert [c.payload for c in first.changes] == [c.payload for c in second.changes]


def test_the_plan_records_the_manifest_digest_lock_serial_and_endpoint() -> None:
    lock = LockState(endpoint="https://face.example:443", serial=7)
    plan = diff(BASE, lock, None)
    assert (plan.manifest_digest, plan.lock_serial, plan.endpoint) == (
        BASE.digest, 7, "https://face.example:443")
