"""Groups that exist on the server but that facesync cannot prove its own (issue 9,
item 16): after --rebind a group the moved lock records is kept only when the
server holds one of its recorded persons; else refused unless --adopt-group takes
it over, with a warning that names what is in it."""

from __future__ import annotations

import pytest

from facesync.errors import PlanError
from facesync.plan.diff import diff
from facesync.state.model import LockState

from .builders import World, applied, empty_world, face, group, manifest, person
from .fake_server import FakeGroup, FakePerson

M = manifest(group("staff", person("alice", face("a/1.jpg"), name="Alice")))


def another_teams_staff(world: World) -> None:
    """The new endpoint's own 'staff', with persons of another team."""
    world.server.groups = {("personGroup", "staff"): FakeGroup("Theirs", "x", "recognition_04", {
        f"t-{n}": FakePerson(name, None, {}) for n, name in enumerate(["Ann", "Ben", "Cid", "Dee"])
    })}


def test_a_rebound_group_that_holds_none_of_the_locks_persons_is_refused() -> None:
    world = applied(M)
    another_teams_staff(world)
    with pytest.raises(PlanError, match=r"--rebind and holds none of its persons.*"
                                        r"--adopt-group staff$"):
        diff(M, world.lock, world.observed(M), rebound=True)
    assert diff(M, world.lock, world.observed(M)).changes  # without --rebind: drift


def test_a_rebound_group_holding_a_recorded_person_is_facesyncs() -> None:
    world = applied(M)
    plan = diff(M, world.lock, world.observed(M), rebound=True)
    assert not plan.has_changes and not plan.warnings


def test_adopt_group_takes_a_rebound_group_over_and_says_what_it_holds() -> None:
    world = applied(M)
    another_teams_staff(world)
    plan = diff(M, world.lock, world.observed(M), rebound=True, take_over=["staff"])
    assert plan.warnings[0] == (
        "Taking over group 'staff' (--adopt-group): it holds 4 persons (\"Ann\", \"Ben\", "
        "\"Cid\", ...) that this lock does not record; they are left alone, but destroying "
        "the group deletes them.")
    assert sorted(u.address for u in plan.unmanaged) == [f"staff/t-{n}" for n in range(4)]


def test_adopt_group_takes_over_a_group_a_fresh_lock_would_refuse() -> None:
    world = empty_world()
    another_teams_staff(world)
    with pytest.raises(PlanError, match="take it over with --adopt-group staff"):
        world.plan(M)
    plan = diff(M, world.lock, world.observed(M), take_over=["staff"])
    assert [str(u) for u in plan.adoptions] == ["staff  (take over the group (--adopt-group))"]
    assert [str(c.address) for c in plan.changes][:1] == ["staff"]  # renamed to the manifest's


def test_a_mistyped_adopt_group_is_refused() -> None:
    with pytest.raises(PlanError, match="--adopt-group stuff: no group 'stuff'"):
        diff(M, LockState("embedded"), None, take_over=["stuff"])
