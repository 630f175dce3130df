"""Approving a plan: --yes, or an answer typed on a terminal; a plan that
deletes, replaces or empties a managed group only by typing the group ids."""

from __future__ import annotations

import sys

import click
import pytest

from facesync.commands.confirm import confirm_plan
from facesync.errors import UsageError
from facesync.plan.model import Plan
from facesync.state.model import LockState
from tests.unit.plan.builders import (
    BASE,
    STAFF,
    World,
    applied,
    face,
    group,
    manifest,
    person,
    with_group,
)


@pytest.fixture
def world() -> World:
    return applied(BASE)


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
