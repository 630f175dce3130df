"""What the lock does not know is listed and never touched; a group someone
else made is never adopted; deleting a managed group says loudly what goes."""

from __future__ import annotations

import pytest

from facesync.errors import PlanError
from facesync.markers import PERSON_PREFIX
from facesync.plan.model import Unmanaged

from .builders import applied, empty_world, face, group, lines, manifest, person, with_group
from .fake_server import FakeGroup, FakePerson

BASE = manifest(group("staff", person("alice", face("alice/01.jpg"))))


def test_a_person_added_by_hand_to_a_managed_group_is_listed_and_never_touched() -> None:
    world = applied(BASE)
    world.server.group("staff").persons["by-hand-1"] = FakePerson("Visitor", None)
    plan = world.plan(BASE)
    assert lines(plan) == []
    assert plan.unmanaged == (Unmanaged("staff/by-hand-1", 'person "Visitor"'),)


def test_a_face_added_by_hand_to_a_managed_person_is_listed_and_never_touched() -> None:
    world = applied(BASE)
    _, alice = world.server.person_named("staff", "alice")
    alice.faces["by-hand-face"] = None
    plan = world.plan(BASE)
    assert lines(plan) == []
    assert plan.unmanaged == (
        Unmanaged("staff/alice/by-hand-face", "face not recorded in the lock"),
    )


def test_groups_the_lock_does_not_know_are_listed() -> None:
    world = applied(BASE)
    world.server.groups[("largePersonGroup", "visitors")] = FakeGroup("Visitors", None, "r")
    plan = world.plan(BASE)
    assert plan.unmanaged == (Unmanaged("visitors", "largePersonGroup not recorded in the lock"),)
    assert lines(plan) == []


def test_a_person_carrying_facesync_s_marker_in_a_group_that_goes_is_described_as_such() -> None:
    world = applied(BASE)
    world.server.group("staff").persons["orphan"] = FakePerson("bob", PERSON_PREFIX + "bob")
    (item,) = world.plan(with_group(manifest(), group("other"))).unmanaged
    assert 'marked as facesync\'s "bob"' in item.description


def test_a_group_that_exists_on_the_server_but_not_in_the_lock_is_refused() -> None:
    world = empty_world()
    world.server.groups[("personGroup", "staff")] = FakeGroup("Theirs", None, "recognition_04")
    with pytest.raises(PlanError) as caught:
        world.plan(BASE)
    assert str(caught.value) == (
        "group 'staff' already exists on the server but this lock does not manage it; "
        "pick another id, delete it, or take it over with --adopt-group staff"
    )


def test_a_group_of_the_other_kind_with_the_same_id_is_no_conflict() -> None:
    world = empty_world()
    world.server.groups[("largePersonGroup", "staff")] = FakeGroup("Theirs", None, "r")
    plan = world.plan(BASE)
    assert lines(plan)[0] == "+ staff"
    assert plan.unmanaged == (Unmanaged("staff", "largePersonGroup not recorded in the lock"),)


def test_deleting_a_group_warns_that_its_unmanaged_persons_go_too() -> None:
    world = applied(BASE)
    world.server.group("staff").persons["p1"] = FakePerson("Visitor", None)
    world.server.group("staff").persons["p2"] = FakePerson("Guest", None)
    plan = world.plan(with_group(manifest(), group("other")))
    assert plan.warnings == (
        "Deleting group 'staff' deletes everything in it, including 2 persons this lock "
        "does not manage.",
    )


def test_replacing_a_group_warns_too() -> None:
    world = applied(BASE)
    plan = world.plan(manifest(group("staff", person("alice", face("alice/01.jpg")),
                                     recognition_model="recognition_03")))
    assert plan.warnings == ("Replacing group 'staff' deletes everything in it.",)


def test_without_a_refresh_the_warning_says_the_count_is_unknown() -> None:
    world = applied(BASE)
    plan = world.plan(manifest(), refresh=False)
    assert lines(plan) == ["- staff"]
    assert "not refreshed: count unknown" in plan.warnings[0]


def test_unmanaged_objects_never_appear_as_changes() -> None:
    world = applied(BASE)
    world.server.group("staff").persons["p1"] = FakePerson("Visitor", None)
    _, alice = world.server.person_named("staff", "alice")
    alice.faces["f1"] = None
    world.apply(BASE)
    assert "p1" in world.server.group("staff").persons
    assert "f1" in alice.faces
