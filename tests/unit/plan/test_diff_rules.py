"""The diff rules as a table: start from an applied manifest, change
the manifest and/or the server, and read the plan's lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from facesync.manifest.model import LARGE_PERSON_GROUP, Manifest
from facesync.plan.payloads import GroupUpdate

from .builders import (
    World,
    applied,
    empty_world,
    face,
    group,
    lines,
    manifest,
    person,
    with_group,
    with_person,
    without_person,
)

ALICE = person("alice", face("alice/01.jpg"), face("alice/02.jpg"), name="Alice Example")
BOB = person("bob", face("bob/01.jpg"))
BASE = manifest(group("staff", ALICE, BOB, name="Staff"))


def _staff(**changes: object) -> Manifest:
    return with_group(BASE, replace(BASE.groups[0], **changes))


def _alice(*faces: object, **changes: object) -> Manifest:
    new = replace(ALICE, **changes)
    if faces:
        new = replace(new, faces=tuple(sorted(faces, key=lambda f: f.sha256)))  # type: ignore
    return with_person(BASE, "staff", new)


def _drop_person_on_server(world: World, name: str) -> None:
    pid, _ = world.server.person_named("staff", name)
    del world.server.group("staff").persons[pid]


def _drop_face_on_server(world: World, person_name: str, index: int) -> None:
    _, p = world.server.person_named("staff", person_name)
    del p.faces[sorted(p.faces)[index]]


def _alice_face_id_of(world: World, path: str) -> int:
    """Index (in sorted persistedFaceId order) of alice's face recorded at `path`."""
    locked = world.lock.group("staff").person("alice")  # type: ignore[union-attr]
    wanted = next(f.persisted_face_id for f in locked.faces if f.path == path)  # type: ignore
    _, p = world.server.person_named("staff", "Alice Example")
    return sorted(p.faces).index(wanted)


@dataclass(frozen=True)
class Case:
    sentence: str
    change: Callable[[World], Manifest]
    expected: list[str]
    lock_only: list[str] = field(default_factory=list)


CASES = [
    Case("applying the same manifest again plans nothing", lambda w: BASE, []),
    Case(
        "adding a photo creates one face and trains the group",
        lambda w: _alice(*ALICE.faces, face("alice/03.jpg")),
        ["+ staff/alice/alice/03.jpg", "* staff"],
    ),
    Case(
        "removing a photo deletes that face and trains the group",
        lambda w: _alice(face("alice/01.jpg")),
        ["- staff/alice/alice/02.jpg", "* staff"],
    ),
    Case(
        "renaming an image is not a change, only a lock update",
        lambda w: _alice(face("alice/01.jpg"), face("alice/two.jpg", image="alice/02.jpg")),
        [],
        ["staff/alice/alice/two.jpg  (same image as alice/02.jpg; "
         "only the lock records the new path)"],
    ),
    Case(
        "new bytes at the same path replace the face",
        lambda w: _alice(face("alice/01.jpg"), face("alice/02.jpg", image="new bytes")),
        ["-/+ staff/alice/alice/02.jpg", "* staff"],
    ),
    Case(
        "a new targetFace replaces the face",
        lambda w: _alice(face("alice/01.jpg", target_face=(1, 2, 40, 40)), face("alice/02.jpg")),
        ["-/+ staff/alice/alice/01.jpg", "* staff"],
    ),
    Case(
        "a new detectionModel replaces the face",
        lambda w: _alice(face("alice/01.jpg", detection_model="detection_01"),
                         face("alice/02.jpg")),
        ["-/+ staff/alice/alice/01.jpg", "* staff"],
    ),
    Case(
        "a new face userData updates the face without training",
        lambda w: _alice(face("alice/01.jpg", user_data="left profile"), face("alice/02.jpg")),
        ["~ staff/alice/alice/01.jpg"],
    ),
    Case(
        "a new person name updates the person without training",
        lambda w: _alice(name="Alice B. Example"),
        ["~ staff/alice"],
    ),
    Case(
        "a new person userData updates the person without training",
        lambda w: _alice(user_data="employee 42"),
        ["~ staff/alice"],
    ),
    Case(
        "adding a person creates it with its faces and trains",
        lambda w: with_person(BASE, "staff", person("carol", face("carol/01.jpg"))),
        ["+ staff/carol", "+ staff/carol/carol/01.jpg", "* staff"],
    ),
    Case(
        "removing a person deletes the person alone (its faces go with it)",
        lambda w: without_person(BASE, "staff", "bob"),
        ["- staff/bob", "* staff"],
    ),
    Case(
        "a new group name updates the group without training",
        lambda w: _staff(name="Staff 2026"),
        ["~ staff"],
    ),
    Case(
        "a new group userData updates the group without training",
        lambda w: _staff(user_data="the whole team"),
        ["~ staff"],
    ),
    Case(
        "a new recognitionModel replaces the group and creates everything under it again",
        lambda w: _staff(recognition_model="recognition_03"),
        ["-/+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/alice/alice/02.jpg",
         "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"],
    ),
    Case(
        "a new kind replaces the group",
        lambda w: _staff(kind=LARGE_PERSON_GROUP),
        ["-/+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/alice/alice/02.jpg",
         "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"],
    ),
    Case(
        "a group left out of the manifest is deleted alone",
        lambda w: with_group(manifest(), group("other")),
        ["+ other", "- staff"],
    ),
]


def _drift_group(w: World) -> Manifest:
    del w.server.groups[("personGroup", "staff")]
    return BASE


def _drift_person(w: World) -> Manifest:
    _drop_person_on_server(w, "bob")
    return BASE


def _drift_face(w: World) -> Manifest:
    _drop_face_on_server(w, "Alice Example", _alice_face_id_of(w, "alice/02.jpg"))
    return BASE


def _renamed_on_server(w: World) -> Manifest:
    _, p = w.server.person_named("staff", "bob")
    p.name = "Robert"
    return BASE


def _model_changed_on_server(w: World) -> Manifest:
    w.server.group("staff").recognition_model = "recognition_01"
    return BASE


def _gone_and_removed_group(w: World) -> Manifest:
    del w.server.groups[("personGroup", "staff")]
    return manifest()


def _gone_and_removed_person(w: World) -> Manifest:
    _drop_person_on_server(w, "bob")
    return without_person(BASE, "staff", "bob")


def _gone_and_removed_face(w: World) -> Manifest:
    _drop_face_on_server(w, "Alice Example", _alice_face_id_of(w, "alice/02.jpg"))
    return _alice(face("alice/01.jpg"))


def _gone_and_new_bytes(w: World) -> Manifest:
    _drop_face_on_server(w, "Alice Example", _alice_face_id_of(w, "alice/02.jpg"))
    return _alice(face("alice/01.jpg"), face("alice/02.jpg", image="new bytes"))


def _never_trained(w: World) -> Manifest:
    w.server.group("staff").training = None
    return BASE


def _training_failed(w: World) -> Manifest:
    w.server.group("staff").training = "failed"
    return BASE


def _training_running(w: World) -> Manifest:
    w.server.group("staff").training = "running"
    return BASE


def _needs_training(w: World) -> Manifest:
    g = w.lock.group("staff")
    w.lock = replace(w.lock, groups=(replace(g, needs_training=True),))  # type: ignore[arg-type]
    return BASE


DRIFT_CASES = [
    Case("a group deleted on the server is created again with everything in it", _drift_group,
         ["+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/alice/alice/02.jpg",
          "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"]),
    Case("a person deleted on the server is created again with its faces", _drift_person,
         ["+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"]),
    Case("a face deleted on the server is created again", _drift_face,
         ["+ staff/alice/alice/02.jpg", "* staff"]),
    Case("a person renamed on the server is renamed back", _renamed_on_server, ["~ staff/bob"]),
    Case("a recognitionModel changed on the server replaces the group", _model_changed_on_server,
         ["-/+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/alice/alice/02.jpg",
          "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff"]),
    Case("a group gone from both manifest and server is only forgotten", _gone_and_removed_group,
         [], ["staff  (already deleted on the server; forgotten in the lock)"]),
    Case("a person gone from both manifest and server is only forgotten",
         _gone_and_removed_person, [],
         ["staff/bob  (already deleted on the server; forgotten in the lock)"]),
    Case("a face gone from both manifest and server is only forgotten", _gone_and_removed_face,
         [], ["staff/alice/alice/02.jpg  (already deleted on the server; forgotten in the lock)"]),
    Case("new bytes for a face already gone on the server are a create", _gone_and_new_bytes,
         ["+ staff/alice/alice/02.jpg", "* staff"],
         ["staff/alice/alice/02.jpg  (already deleted on the server; forgotten in the lock)"]),
    Case("a group never trained is trained", _never_trained, ["* staff"]),
    Case("a group whose last training failed is trained again", _training_failed, ["* staff"]),
    Case("a group still training is left alone", _training_running, []),
    Case("a group the lock marks as changed since its training is trained", _needs_training,
         ["* staff"]),
]


@pytest.mark.parametrize("case", CASES + DRIFT_CASES, ids=lambda c: c.sentence)
def test_rule(case: Case) -> None:
    world = applied(BASE)
    plan = world.plan(case.change(world))
    assert lines(plan) == case.expected
    assert [str(u) for u in plan.lock_updates] == case.lock_only
    assert plan.has_changes is bool(case.expected)


@pytest.mark.parametrize("case", CASES + DRIFT_CASES, ids=lambda c: c.sentence)
def test_applying_the_plan_converges(case: Case) -> None:
    world = applied(BASE)
    new = case.change(world)
    world.apply(new)
    assert lines(world.plan(new)) == []
    assert world.plan(new).lock_updates == ()


def test_the_first_plan_creates_everything_and_trains() -> None:
    plan = empty_world().plan(BASE)
    assert lines(plan) == [
        "+ staff", "+ staff/alice", "+ staff/alice/alice/01.jpg", "+ staff/alice/alice/02.jpg",
        "+ staff/bob", "+ staff/bob/bob/01.jpg", "* staff",
    ]
    assert plan.counts() == {"add": 6, "change": 0, "destroy": 0, "train": 1}


def test_a_replace_counts_once_in_add_and_once_in_destroy() -> None:
    world = applied(BASE)
    plan = world.plan(_alice(face("alice/01.jpg"), face("alice/02.jpg", image="new bytes")))
    assert plan.counts() == {"add": 1, "change": 0, "destroy": 1, "train": 1}


def test_deleting_a_person_counts_one_whatever_its_faces() -> None:
    world = applied(BASE)
    plan = world.plan(without_person(BASE, "staff", "alice"))
    assert plan.counts() == {"add": 0, "change": 0, "destroy": 1, "train": 1}


def test_an_unset_user_data_and_an_empty_one_are_the_same() -> None:
    world = applied(BASE)
    world.server.group("staff").user_data = ""
    assert lines(world.plan(BASE)) == []


def test_user_data_someone_else_set_on_a_managed_group_is_cleared() -> None:
    world = applied(BASE)
    world.server.group("staff").user_data = "set by hand"
    plan = world.plan(BASE)
    assert lines(plan) == ["~ staff"]
    assert plan.changes[0].payload_as(GroupUpdate).user_data == ""


def test_a_group_without_persons_is_never_trained() -> None:
    """The service fails such a training, which would leave a train in every plan."""
    empty = manifest(group("empty"))
    world = empty_world()
    assert lines(world.plan(empty)) == ["+ empty"]
    world.apply(empty)
    assert lines(world.plan(empty)) == []
    assert lines(world.plan(manifest(group("empty", person("p", face("p.jpg")))))) == [
        "+ empty/p", "+ empty/p/p.jpg", "* empty"]
