"""Plans that delete, replace or empty a managed group: named by
`dangerous_groups`, shown among the warnings, approved only by typing the ids."""

from __future__ import annotations

import sys

import click
import pytest

from facesync.commands.confirm import confirm_plan
from facesync.errors import UsageError
from facesync.plan.danger import danger_warnings, dangerous_groups, with_danger_warnings
from facesync.plan.model import Address, Plan
from facesync.state.model import LockState

from .plan.builders import World, applied, face, group, manifest, person, with_group

STAFF = group(
    "staff",
    person("alice", face("alice/01.jpg")),
    person("bob", face("bob/01.jpg")),
)
GUESTS = group("guests", person("carol", face("carol/01.jpg")))
BASE = manifest(STAFF, GUESTS)


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


# --- confirm_plan ---------------------------------------------------------------------------


class _Stdin:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run confirm_plan on a terminal whose user types these answers."""
    typed: list[str] = []
    monkeypatch.setattr(sys, "stdin", _Stdin(tty=True))
    monkeypatch.setattr(click, "prompt", lambda *_a, **_k: typed.pop(0))
    return typed


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(tty=False))

    def never(*_a: object, **_k: object) -> str:
        raise AssertionError("asked without a terminal")

    monkeypatch.setattr(click, "prompt", never)


def _plans(world: World) -> tuple[Plan, Plan, Plan, LockState]:
    """An ordinary plan, one that removes guests, one that removes both groups."""
    ordinary = world.plan(with_group(BASE, group("guests", person("carol", face("c2.jpg")))))
    return ordinary, world.plan(manifest(STAFF)), world.plan(manifest()), world.lock


def test_yes_approves_any_plan_without_asking(world: World, no_terminal: None) -> None:
    for plan in _plans(world)[:3]:
        confirm_plan(plan, world.lock, yes=True)


def test_without_a_terminal_an_ordinary_plan_needs_yes(world: World, no_terminal: None) -> None:
    ordinary, _, _, lock = _plans(world)
    with pytest.raises(UsageError, match="--yes"):
        confirm_plan(ordinary, lock, yes=False)


def test_without_a_terminal_a_group_delete_is_refused_naming_the_group(
    world: World, no_terminal: None
) -> None:
    _, remove_guests, _, lock = _plans(world)
    with pytest.raises(UsageError) as caught:
        confirm_plan(remove_guests, lock, yes=False)
    assert "'guests'" in caught.value.message and "--yes" in caught.value.message


def test_on_a_terminal_an_ordinary_plan_is_approved_by_yes(
    world: World, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ordinary, _, _, lock = _plans(world)
    answers.append("yes")
    confirm_plan(ordinary, lock, yes=False)
    assert "Only 'yes' will be accepted" in capsys.readouterr().out
    answers.append("y")
    with pytest.raises(UsageError, match="cancelled"):
        confirm_plan(ordinary, lock, yes=False)


def test_on_a_terminal_yes_does_not_approve_deleting_a_group(
    world: World, answers: list[str]
) -> None:
    _, remove_guests, _, lock = _plans(world)
    answers.append("yes")
    with pytest.raises(UsageError) as caught:
        confirm_plan(remove_guests, lock, yes=False)
    expected = "cancelled: you typed 'yes', not 'guests'; nothing was changed"
    assert caught.value.message == expected


def test_on_a_terminal_typing_the_group_id_approves_deleting_it(
    world: World, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, remove_guests, _, lock = _plans(world)
    answers.append("  guests ")
    confirm_plan(remove_guests, lock, yes=False)
    assert "Type its id to approve: guests" in capsys.readouterr().out


def test_on_a_terminal_every_group_at_risk_must_be_typed(
    world: World, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, remove_both, lock = _plans(world)
    answers.extend(["staff, guests", "guests", "guests staff staff", ""])
    confirm_plan(remove_both, lock, yes=False)
    assert "Type their ids, separated by spaces, to approve: guests staff" in (
        capsys.readouterr().out
    )
    for _ in range(3):
        with pytest.raises(UsageError, match="cancelled: you typed"):
            confirm_plan(remove_both, lock, yes=False)


def test_the_question_can_be_the_one_destroy_asks(
    world: World, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, remove_both, lock = _plans(world)
    answers.append("guests staff")
    confirm_plan(remove_both, lock, yes=False, question="Do you really want to destroy?")
    assert "Do you really want to destroy?" in capsys.readouterr().out
