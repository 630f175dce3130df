"""Plans that delete, replace or empty a managed group: named by
`dangerous_groups` and shown among the warnings (approval: tests/unit/commands/test_confirm.py)."""

from __future__ import annotations

import pytest

from facesync.plan.danger import danger_warnings, dangerous_groups, with_danger_warnings
from facesync.plan.model import Address

from .builders import BASE, GUESTS, STAFF, World, applied, face, group, manifest, person, with_group


@pytest.fixture
def world() -> World:
    return applied(BASE)


def _at_risk(world: World, edited: object, **kwargs: object) -> list[str]:
    plan = world.plan(edited, **kwargs)  # type: ignore[arg-type]
    return dangerous_groups(plan, world.lock)


def test_an_unchanged_manifest_puts_nothing_at_risk(world: World) -> None:
    assert _at_risk(world, BASE) == []


def test_removing_a_group_puts_it_at_risk(world: World) -> None:
    assert _at_risk(world, manifest(STAFF)) == ["guests"]


def test_destroying_everything_puts_every_group_at_risk(world: World) -> None:
    assert _at_risk(world, manifest()) == ["guests", "staff"]


def test_a_group_replaced_by_a_new_recognition_model_is_at_risk(world: World) -> None:
    changed = group("staff", *STAFF.persons, recognition_model="recognition_03")
    assert _at_risk(world, with_group(BASE, changed)) == ["staff"]


def test_a_group_replaced_by_a_new_kind_is_at_risk(world: World) -> None:
    changed = group("guests", *GUESTS.persons, kind="largePersonGroup")
    assert _at_risk(world, with_group(BASE, changed)) == ["guests"]


def test_removing_every_person_of_a_group_puts_it_at_risk(world: World) -> None:
    assert _at_risk(world, with_group(BASE, group("staff"))) == ["staff"]


def test_removing_some_persons_of_a_group_is_an_ordinary_change(world: World) -> None:
    fewer = group("staff", person("alice", face("alice/01.jpg")))
    assert _at_risk(world, with_group(BASE, fewer)) == []


def test_renaming_every_person_key_deletes_them_all_and_is_at_risk(world: World) -> None:
    renamed = group(
        "staff",
        person("alice2", face("alice/01.jpg")),
        person("bob2", face("bob/01.jpg")),
    )
    assert _at_risk(world, with_group(BASE, renamed)) == ["staff"]


def test_a_person_the_server_lost_counts_as_gone_when_the_rest_is_deleted(world: World) -> None:
    pid, _ = world.server.person_named("staff", "bob")
    del world.server.group("staff").persons[pid]
    assert _at_risk(world, with_group(BASE, group("staff"))) == ["staff"]


def test_forgetting_persons_the_server_lost_deletes_nothing(world: World) -> None:
    for name in ("alice", "bob"):
        pid, _ = world.server.person_named("staff", name)
        del world.server.group("staff").persons[pid]
    assert _at_risk(world, with_group(BASE, group("staff"))) == []


def test_targeting_the_only_person_of_a_group_for_removal_is_at_risk(world: World) -> None:
    edited = with_group(BASE, group("guests"))
    assert _at_risk(world, edited, target=Address("guests", "carol")) == ["guests"]


def test_adding_and_changing_faces_and_names_is_not_at_risk(world: World) -> None:
    edited = group(
        "staff",
        person("alice", face("alice/01.jpg"), face("alice/02.jpg"), name="Alice A."),
        person("bob", face("bob/02.jpg")),
        name="Team",
    )
    assert _at_risk(world, with_group(BASE, edited)) == []


def test_removing_a_group_without_persons_is_still_at_risk() -> None:
    world = applied(manifest(group("empty")))
    assert _at_risk(world, manifest()) == ["empty"]


def test_an_emptied_group_gets_a_warning_of_its_own(world: World) -> None:
    plan = world.plan(with_group(BASE, group("staff")))
    assert danger_warnings(plan, world.lock) == [
        "Deleting all 2 persons this lock manages in group 'staff' deletes their faces too: "
        "nobody facesync enrolled there can be identified afterwards."
    ]


def test_a_deleted_group_keeps_only_the_warning_the_diff_gives(world: World) -> None:
    plan = world.plan(manifest(STAFF))
    assert danger_warnings(plan, world.lock) == []
    assert with_danger_warnings(plan, world.lock) is plan


def test_danger_warnings_are_added_once(world: World) -> None:
    plan = world.plan(with_group(BASE, group("guests")))
    once = with_danger_warnings(plan, world.lock)
    assert with_danger_warnings(once, world.lock) == once
    assert [w for w in once.warnings if "the only person" in w and "'guests'" in w]
