"""Rendered plans (golden files) and the --json form (schemas/plan.schema.json).

Regenerate the golden files after a deliberate change with
`FACESYNC_UPDATE_GOLDEN=1 pytest tests/unit/plan/test_render.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from facesync.plan.model import Plan
from facesync.plan.render import plan_to_json, render_human
from facesync.schemas_dir import load_schema

from .builders import (
    applied,
    empty_world,
    face,
    group,
    manifest,
    person,
    sha,
    with_group,
    with_person,
    without_person,
)
from .fake_server import FakePerson

GOLDEN = Path(__file__).parent / "golden"

ALICE = person("alice", face("faces/alice/01.jpg"), name="Alice")
BOB = person("bob", face("faces/bob/01.jpg"), face("faces/bob/02.jpg"))
CAROL = person("carol", face("faces/carol/01.jpg"))
DAVE = person("dave", face("faces/dave/01.jpg"), face("faces/dave/02.jpg"))
BASE = manifest(
    group("staff", ALICE, BOB, CAROL, DAVE, name="Staff"),
    group("visitors", person("vic", face("faces/vic.jpg"))),
    group("archive", person("old", face("faces/old.jpg")), recognition_model="recognition_01"),
)


def _first() -> Plan:
    return empty_world().plan(BASE)


def _mixed() -> Plan:
    world = applied(BASE)
    world.server.group("visitors").persons["3f2a-unmanaged"] = FakePerson("Walk-in", None)
    _, carol = world.server.person_named("staff", "carol")
    carol.faces.clear()  # drift: carol's face deleted by hand
    m = with_person(BASE, "staff", person(
        "alice", face("faces/alice/01.jpg"), face("faces/alice/02.jpg"), name="Alice Example"))
    m = with_person(m, "staff", person(
        "bob", face("faces/bob/01.jpg", image="faces/bob/01.jpg, retouched"),
        face("faces/bob/two.jpg", image="faces/bob/02.jpg")))
    m = with_group(m, group("archive", person("old", face("faces/old.jpg")),
                            recognition_model="recognition_04"))
    m = manifest(*(g for g in m.groups if g.group_id != "visitors"))
    return world.plan(without_person(m, "staff", "dave"))


def _none() -> Plan:
    return applied(BASE).plan(BASE)


def _renamed_only() -> Plan:
    world = applied(BASE)
    return world.plan(with_person(BASE, "staff", person(
        "carol", face("faces/carol/first.jpg", image="faces/carol/01.jpg"))))


ERIN = person("erin", face("faces/erin/01.jpg"), face("faces/erin/02.jpg"), name="Erin")


def _recovery() -> Plan:
    """An apply died after creating erin and one of her faces, and had made a
    second bob earlier: adopt erin and her face, delete the extra bob."""
    world = applied(BASE)
    staff = world.server.group("staff")
    staff.persons["7c1e-erin"] = FakePerson(
        "Erin", PERSON_PREFIX + "erin", {"9d0f-face": FACE_PREFIX + sha("faces/erin/01.jpg")}
    )
    staff.persons["5b2a-bob"] = FakePerson("bob", PERSON_PREFIX + "bob")
    return world.plan(with_person(BASE, "staff", ERIN))


SCENARIOS = {
    "first_apply": _first,
    "mixed": _mixed,
    "no_changes": _none,
    "recovery": _recovery,
    "renamed_only": _renamed_only,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_human_plan_matches_its_golden_file(name: str) -> None:
    text = render_human(SCENARIOS[name]()) + "\n"
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("FACESYNC_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_a_plan_without_changes_says_so_in_one_line() -> None:
    assert render_human(_none()) == "No changes. Server matches the manifest."


def test_a_renamed_image_still_says_no_changes() -> None:
    text = render_human(_renamed_only())
    assert text.endswith("\n\nNo changes. Server matches the manifest.")
    assert "staff/carol/faces/carol/first.jpg  (same image as faces/carol/01.jpg" in text


def test_plain_text_has_no_escape_codes_and_color_has_some() -> None:
    assert "\033[" not in render_human(_mixed())
    colored = render_human(_mixed(), color=True)
    assert "\033[32m+\033[0m staff/alice/faces/alice/02.jpg" in colored


def test_every_change_line_starts_with_its_symbol_and_address() -> None:
    plan = _mixed()
    body = render_human(plan).split("\n\n")[0].splitlines()
    assert [line.split("  (")[0] for line in body] == [
        f"{c.action.symbol} {c.address}" for c in plan.changes
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_json_plan_matches_its_schema(name: str) -> None:
    doc = plan_to_json(SCENARIOS[name]())
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    json.dumps(doc)  # serialisable as it is


def test_the_json_plan_summarises_like_the_summary_line() -> None:
    doc = plan_to_json(_mixed())
    s = doc["summary"]
    assert render_human(_mixed()).endswith(
        f"Plan: {s['add']} to add, {s['change']} to change, {s['destroy']} to destroy, "
        f"{s['train']} to train."
    )
    assert doc["has_changes"] is True


def test_the_json_plan_carries_no_absolute_path_and_no_executor_data() -> None:
    text = json.dumps(plan_to_json(_mixed()))
    assert "/work/gallery" not in text
    assert '"data"' not in text


def test_the_json_plan_of_a_change_reads_as_documented() -> None:
    doc = plan_to_json(_mixed())
    alice = next(c for c in doc["changes"] if c["address"] == "staff/alice")
    assert alice == {
        "address": "staff/alice",
        "action": "update",
        "type": "person",
        "reason": 'name: "Alice" -> "Alice Example"',
        "before": {"name": "Alice"},
        "after": {"name": "Alice Example"},
    }


def test_adoptions_lead_the_plan_and_its_summary_line() -> None:
    text = render_human(_recovery())
    assert text.startswith(
        "= staff/erin  (adopt personId 7c1e-erin left by an interrupted apply)\n"
        "= staff/erin/faces/erin/01.jpg  (adopt persistedFaceId 9d0f-face left by an "
        "interrupted apply)\n\n"
    )
    assert text.endswith("Plan: 2 to adopt, 1 to add, 0 to change, 1 to destroy, 1 to train.")


def test_adoptions_are_lock_only_updates_in_the_json_plan() -> None:
    doc = plan_to_json(_recovery())
    assert [(u["address"], u["action"]) for u in doc["lock_only"]] == [
        ("staff/erin", "adopt"), ("staff/erin/faces/erin/01.jpg", "adopt")
    ]
    assert doc["summary"] == {"add": 1, "change": 0, "destroy": 1, "train": 1}
