"""Adoption when photos or persons share one userData (issue 9, item 1): a face or
person that several pending intents may have made is facesync's, but which photo
or key it is cannot be told, so it is deleted and what the lock lacks is created;
a face one intent alone explains is adopted; nothing is ever left behind."""

from __future__ import annotations

from dataclasses import replace

from facesync.digest import text_digest
from facesync.plan.model import Plan
from facesync.state.journal import ADD_FACE, CREATE_PERSON, Intent, user_data_digest

from .builders import World, applied, face, group, manifest, person, sha
from .fake_server import FakePerson

SHARED = "same shoot"
ONE = person("alice", face("a/1.jpg", user_data=SHARED), name="Alice")
THREE = person("alice", *(face(f"a/{n}.jpg", user_data=SHARED) for n in (1, 2, 3)),
               name="Alice")


def lines(plan: Plan) -> list[str]:
    return [f"= {u.address}" for u in plan.adoptions] + [
        f"{c.action.symbol} {c.address}" for c in plan.changes]


def add_intent(world: World, label: str, **fields) -> Intent:
    alice_id = world.lock.group("staff").person("alice").person_id
    return Intent(ADD_FACE, "staff", "personGroup", person="alice", person_id=alice_id,
                  sha256=sha(label), user_data_digest=user_data_digest(SHARED), **fields)


def lost_faces(world: World, *face_ids: str) -> None:
    _, alice = world.server.person_named("staff", "Alice")
    alice.faces.update({f: SHARED for f in face_ids})


def test_a_face_two_pending_adds_may_have_made_is_deleted_and_both_photos_added() -> None:
    world = applied(manifest(group("staff", ONE)))
    lost_faces(world, "f-lost")
    intents = [add_intent(world, "a/2.jpg"), add_intent(world, "a/3.jpg")]
    plan = world.plan(manifest(group("staff", THREE)), intents=intents)
    assert lines(plan) == ["+ staff/alice/a/2.jpg", "+ staff/alice/a/3.jpg",
                           "- staff/alice/f-lost", "* staff"]
    assert plan.changes[2].reason == (
        "face left by an interrupted apply; it may be any of 2 photos with its userData")
    # The adds never take the doomed face for their own result, should it survive.
    adds = [c.payload.preexisting for c in plan.changes if c.action.value == "create"]
    assert adds == [("f-lost",), ("f-lost",)]
    world.apply(manifest(group("staff", THREE)), intents=intents)
    assert len(world.server.person_named("staff", "Alice")[1].faces) == 3


def test_a_face_one_intent_alone_may_have_made_is_adopted() -> None:
    world = applied(manifest(group("staff", ONE)))
    lost_faces(world, "f-lost")
    first = add_intent(world, "a/2.jpg")
    # a/3.jpg's add was judged already: only f-old could be its result, and is gone
    judged = replace(add_intent(world, "a/3.jpg"), within=frozenset({"f-old"}))
    plan = world.plan(manifest(group("staff", THREE)), intents=[first, judged])
    assert lines(plan) == ["= staff/alice/a/2.jpg", "+ staff/alice/a/3.jpg", "* staff"]


def test_a_face_all_of_whose_photos_are_recorded_is_deleted_as_a_copy() -> None:
    world = applied(manifest(group("staff", THREE)))
    lost_faces(world, "f-copy")
    intents = [add_intent(world, "a/1.jpg"), add_intent(world, "a/2.jpg")]
    plan = world.plan(manifest(group("staff", THREE)), intents=intents)
    assert lines(plan) == ["- staff/alice/f-copy", "* staff"]


def test_a_person_two_pending_creates_may_have_made_is_deleted() -> None:
    twins = [person(k, face(f"{k}/1.jpg"), name="Sam", user_data="intern") for k in ("s1", "s2")]
    m = manifest(group("staff", *twins))
    world = applied(manifest(group("staff", ONE)))
    world.server.group("staff").persons["p-lost"] = FakePerson("Sam", "intern", {})
    intents = [Intent(CREATE_PERSON, "staff", "personGroup", person=k,
                      name_digest=text_digest("Sam"), user_data_digest=user_data_digest("intern"))
               for k in ("s1", "s2")]
    plan = world.plan(m, intents=intents)
    assert "- staff/p-lost" in lines(plan)
    assert "+ staff/s1" in lines(plan) and "+ staff/s2" in lines(plan)
