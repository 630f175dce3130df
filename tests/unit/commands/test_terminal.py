"""The closing lines of a sync, as apply and destroy print them."""

from __future__ import annotations

import pytest

from facesync.commands.terminal import DestroyUI, destroyed_line, recovery_line
from facesync.engine.executor import ApplyReport
from facesync.manifest.model import Manifest
from facesync.plan.model import Plan
from facesync.plan.render import destroyed_contents, render_destroy
from tests.unit.plan.builders import (
    BASE,
    World,
    applied,
    face,
    group,
    manifest,
    person,
    with_group,
    without_person,
)


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, None),
        ({"passes": 3, "recovered": 3, "reconcile_calls": 14},
         "Recovered from 3 failed calls in 2 extra passes (14 extra calls)."),
        ({"passes": 2, "recovered": 1, "reconcile_calls": 1},
         "Recovered from 1 failed call in 1 extra pass (1 extra call)."),
        ({"passes": 4, "recovered": 3, "reconcile_calls": 21, "failed": [None]},
         "Tried to recover from 3 failed calls in 3 extra passes (21 extra calls)."),
        ({"adopted": 2, "reconcile_calls": 3},
         "Adopted 2 objects left by an interrupted apply (3 extra calls)."),
    ],
)
def test_apply_says_what_recovery_took_in_one_line(fields, line) -> None:
    assert recovery_line(ApplyReport(**fields)) == line


# --- destroy's own wording ------------------------------------------------------------


def _destroyed(world: World, m: Manifest) -> tuple[Plan, dict]:
    plan = world.plan(m)
    return plan, destroyed_contents(plan, world.lock)


def test_destroy_says_what_goes_with_each_group_counting_the_managed_objects() -> None:
    world = applied(with_group(BASE, group("staff", person("alice", face("a1.jpg"),
                                                           face("a2.jpg")),
                                           person("bob", face("b1.jpg")))))  # fmt: skip
    plan, contents = _destroyed(world, manifest())
    text = render_destroy(plan, contents)
    assert "- staff  (destroy: 2 persons, 3 faces)" in text.splitlines()
    assert "- guests  (destroy: 1 person, 1 face)" in text.splitlines()
    assert "not in the manifest" not in text
    assert text.endswith("Plan: 0 to add, 0 to change, 2 to destroy, 0 to train.")


def test_destroying_one_person_says_how_many_faces_go_with_it() -> None:
    world = applied(BASE)
    plan, contents = _destroyed(world, without_person(BASE, "staff", "bob"))
    assert "- staff/bob  (destroy: 1 face)" in render_destroy(plan, contents).splitlines()


def test_nothing_to_destroy_is_said_so_never_as_an_apply_would() -> None:
    text = render_destroy(Plan(), {})
    assert text == "Nothing to destroy."


def test_the_destroy_report_counts_what_went_with_each_delete() -> None:
    world = applied(BASE)
    plan, contents = _destroyed(world, manifest())
    report = ApplyReport(succeeded=list(plan.changes))
    assert destroyed_line(report, contents) == (
        "Destroy complete! Resources: 2 groups, 3 persons, 3 faces destroyed."
    )
    half = ApplyReport(succeeded=[plan.changes[0]], skipped=[plan.changes[1]])
    assert destroyed_line(half, contents) == (
        "Destroy incomplete! Resources: 1 group, 1 person, 1 face destroyed."
    )


def test_destroy_prints_its_plan_with_the_lock_it_deletes_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = applied(BASE)
    plan = world.plan(manifest())
    ui = DestroyUI(yes=True)
    ui.show_plan(plan)
    assert capsys.readouterr().out == ""  # printed once the lock is known
    ui.approve(plan, world.lock)
    out = capsys.readouterr().out
    assert "- staff  (destroy: 2 persons, 2 faces)" in out
    assert ui.contents[plan.changes[1].address].persons == 2
    ui.show_plan(Plan())
    assert capsys.readouterr().out == "Nothing to destroy.\n"


@pytest.mark.parametrize(("added", "line"), [
    (True, "Apply incomplete! Resources: 1 added, 0 changed, 0 destroyed."),
    (False, "Apply incomplete! Resources: 0 added, 0 changed, 1 destroyed."),
])
def test_a_replacement_that_made_one_of_its_two_calls_is_counted_as_it_happened(
    added, line, capsys
) -> None:
    from facesync.commands.terminal import print_report
    from facesync.engine.outcomes import HalfReplaced
    from facesync.errors import ApiError

    cause = ApiError(400, "BadArgument", "refused")
    report = ApplyReport(failed=[(None, HalfReplaced("half", None, cause, added=added))])
    assert print_report(report) == 1  # type: ignore[arg-type]
    assert line in capsys.readouterr().out
