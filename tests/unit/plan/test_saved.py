"""Saved plans: a faithful round trip, clear refusals, and the staleness check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from facesync.errors import PlanError
from facesync.markers import PERSON_PREFIX
from facesync.plan.model import Plan
from facesync.plan.render import plan_to_json
from facesync.plan.saved import check_fresh, load_plan, save_plan
from facesync.schemas_dir import load_schema

from .builders import applied, face, group, lines, manifest, person, with_person
from .fake_server import FakePerson

BASE = manifest(group("staff", person("alice", face("a/1.jpg")), person("bob", face("b/1.jpg"))))
NEXT = with_person(
    manifest(group("staff", person("alice", face("a/1.jpg", target_face=(0, 0, 40, 40)),
                                   face("a/2.jpg")))),
    "staff", person("carol", face("c/1.jpg"), face("c/renamed.jpg", image="b/1.jpg")),
)


def _plan() -> Plan:
    world = applied(BASE)
    return world.plan(with_person(NEXT, "staff", person("bob", face("b/moved.jpg",
                                                                    image="b/1.jpg"))))


def test_a_saved_plan_reads_back_the_same_with_the_executor_s_data(tmp_path: Path) -> None:
    plan = _plan()
    save_plan(plan, tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert loaded == plan
    assert [c.data for c in loaded.changes] == [c.data for c in plan.changes]
    assert loaded.lock_updates == plan.lock_updates


def test_a_loaded_plan_applies_and_converges(tmp_path: Path) -> None:
    world = applied(BASE)
    target = with_person(NEXT, "staff", person("bob", face("b/moved.jpg", image="b/1.jpg")))
    save_plan(world.plan(target), tmp_path / "p.json")
    world.lock = world.server.run(load_plan(tmp_path / "p.json"), world.lock)
    assert lines(world.plan(target)) == []
    assert world.plan(target).lock_updates == ()


def test_a_saved_plan_records_where_it_came_from_and_matches_the_schema(tmp_path: Path) -> None:
    plan = _plan()
    save_plan(plan, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    assert (doc["manifest_digest"], doc["lock_serial"], doc["endpoint"]) == (
        plan.manifest_digest, plan.lock_serial, "embedded")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no plan file at"),
        ("{not json", "cannot be read as JSON"),
        ('{"format_version": 1}', "is not a facesync plan (top level: 'changes' is a required"),
        ('{"format_version": 9}', "has format version 9; this facesync reads version 1"),
        ("[]", "is not a facesync plan"),
    ],
)
def test_an_unusable_plan_file_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_the_printed_json_plan_cannot_be_applied(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan_to_json(_plan())))
    with pytest.raises(PlanError, match="printed by `plan --json`, which cannot be applied"):
        load_plan(path)


# --- staleness -----------------------------------------------------------------------------


def _fresh(plan: Plan) -> dict[str, object]:
    return {"manifest_digest": plan.manifest_digest, "lock_serial": plan.lock_serial,
            "endpoint": plan.endpoint}


def test_a_plan_made_from_the_current_inputs_is_fresh() -> None:
    plan = _plan()
    check_fresh(plan, **_fresh(plan))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moved", "message"),
    [
        ({"manifest_digest": "sha256:other"}, "the manifest or its images changed"),
        ({"lock_serial": 99}, "the lock file was written since (serial 0 -> 99)"),
        ({"endpoint": "https://face.example:443"},
         "it was made for embedded, not https://face.example:443"),
    ],
)
def test_a_stale_plan_is_refused_naming_what_moved(moved: dict[str, object], message: str) -> None:
    plan = _plan()
    with pytest.raises(PlanError) as caught:
        check_fresh(plan, **{**_fresh(plan), **moved})  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"the saved plan is stale: {message}; run `facesync plan -o FILE` again"
    )


def test_a_saved_plan_that_adopts_reads_back_and_converges(tmp_path: Path) -> None:
    world = applied(BASE)
    world.server.group("staff").persons["p-carol"] = FakePerson("carol", PERSON_PREFIX + "carol")
    target = with_person(BASE, "staff", person("carol", face("c/1.jpg")))
    save_plan(world.plan(target), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    loaded = load_plan(tmp_path / "p.json")
    assert [str(u) for u in loaded.adoptions] == [
        "staff/carol  (adopt personId p-carol left by an interrupted apply)"
    ]
    world.lock = world.server.run(loaded, world.lock)
    assert world.lock.group("staff").person("carol").person_id == "p-carol"
    assert lines(world.plan(target)) == []
