"""Dependency order of a plan's changes (docs/apply.md: Order), as table tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from facesync.backends.base import TrainingInfo
from facesync.engine.executor import execute
from facesync.engine.graph import ExecutionGraph, build_graph
from facesync.plan.model import Action, Change, Plan

from .builders import (
    face_create,
    face_delete,
    face_update,
    group_create,
    group_delete,
    group_update,
    image,
    person_create,
    person_delete,
    person_update,
    train,
)


def waits_on(graph: ExecutionGraph, later: int, earlier: int) -> bool:
    """True when `later` cannot start before `earlier` has finished (transitively)."""
    todo, seen = [later], set()
    while todo:
        node = graph.nodes[todo.pop()]
        for dep in node.waits_for:
            if dep == earlier:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


class _Accepting:
    """A backend that accepts every call at once: only the order is under test."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def __getattr__(self, name: str) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            if name == "get_training_status":
                return TrainingInfo("succeeded")
            return f"id-{next(self._ids)}"

        return call


def executed(changes: list[Change]) -> list[int]:
    """The order the executor really runs `changes` in, one call at a time."""
    index = {id(c): i for i, c in enumerate(changes)}
    order: list[int] = []

    class Events:
        def change_finished(self, change: Change, status: str, detail: str, calls: int) -> None:
            assert status == "succeeded", (str(change.address), detail)
            order.append(index[id(change)])

    backend: Any = _Accepting()
    execute(Plan(changes=tuple(changes)), backend, checkpoint=lambda c, r: None,
            parallelism=1, progress=Events(), sleep=lambda s: None)
    return order


@pytest.fixture
def img(tmp_path: Path):
    return lambda name: image(tmp_path, name)


def test_a_group_comes_before_its_persons_and_a_person_before_its_faces(img):
    changes = [train(), face_create("staff", "alice", img("a.jpg")),
               person_create("staff", "alice"), group_create()]  # fmt: skip
    graph = build_graph(changes)
    assert graph.nodes[2].requires == {3}
    assert graph.nodes[1].requires == {2, 3}
    assert executed(changes) == [3, 2, 1, 0]


def test_every_change_of_a_group_comes_before_its_training(img):
    changes = [
        group_update("staff"),
        person_update("staff", "bob", "pid-b"),
        face_create("staff", "alice", img("a.jpg"), person_id="pid-a"),
        face_delete("staff", "carol", "pid-c", "fid-c"),
        train("staff"),
        person_create("other", "dave"),
    ]
    graph = build_graph(changes)
    assert graph.nodes[4].after == {0, 1, 2, 3}
    assert graph.nodes[4].requires == frozenset()  # a failed face does not block training
    assert not waits_on(graph, 4, 5)


def test_deletes_go_faces_then_persons_then_the_group():
    changes = [
        group_delete("staff"),
        person_delete("staff", "alice", "pid-a"),
        face_delete("staff", "alice", "pid-a", "fid-1"),
    ]
    graph = build_graph(changes)
    assert waits_on(graph, 1, 2)
    assert waits_on(graph, 0, 1)
    assert executed(changes) == [2, 1, 0]


def test_a_replaced_group_is_deleted_and_created_before_everything_under_it(img):
    changes = [
        person_create("staff", "alice"),
        face_create("staff", "alice", img("a.jpg")),
        group_create("staff", action=Action.REPLACE, old_kind="largePersonGroup"),
        train("staff"),
    ]
    graph = build_graph(changes)
    for member in (0, 1, 3):
        assert 2 in graph.nodes[member].requires


def test_a_group_created_again_under_the_same_id_waits_for_its_delete():
    graph = build_graph([group_create("staff"), group_delete("staff")])
    assert graph.nodes[0].requires == {1}


def test_one_persons_changes_form_a_single_lane_with_deletes_first(img):
    changes = [
        face_create("staff", "alice", img("new.jpg"), person_id="pid-a"),
        face_update("staff", "alice", "pid-a", "fid-2", "f" * 64),
        face_delete("staff", "alice", "pid-a", "fid-1"),
        person_update("staff", "alice", "pid-a"),
    ]
    graph = build_graph(changes)
    assert {n.lane for n in graph.nodes} == {("staff", "alice")}
    assert executed(changes) == [2, 3, 1, 0]
    chain = executed(changes)
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert waits_on(graph, later, earlier)


def test_different_persons_do_not_wait_for_each_other(img):
    changes = [
        person_create("staff", "alice"),
        face_create("staff", "alice", img("a.jpg")),
        person_create("staff", "bob"),
        face_create("staff", "bob", img("b.jpg")),
    ]
    graph = build_graph(changes)
    for a in (0, 1):
        for b in (2, 3):
            assert not waits_on(graph, a, b) and not waits_on(graph, b, a)


def _face(img):
    return face_create("s", "c", img("c.jpg"), person_id="p")


SAMPLES = {
    "face delete": lambda img: face_delete("s", "a", "p", "f"),
    "person delete": lambda img: person_delete("s", "b", "p2"),
    "group create": lambda img: group_create("t"),
    "person create": lambda img: person_create("s", "b"),
    "face create": _face,
    "train": lambda img: train("s"),
}
PRIORITY_ORDER = list(SAMPLES)


@pytest.mark.parametrize("pair", list(zip(PRIORITY_ORDER, PRIORITY_ORDER[1:], strict=False)))
def test_ready_deletes_run_first_and_training_last(img, pair):
    first: Change = SAMPLES[pair[0]](img)
    second: Change = SAMPLES[pair[1]](img)
    graph = build_graph([second, first])
    assert graph.nodes[1].priority < graph.nodes[0].priority


def test_the_order_is_the_same_every_time(img):
    changes = [group_create("b"), group_create("a"), train("a"), train("b")]
    changes += [person_create(g, k) for g in "ab" for k in ("y", "x")]
    assert executed(changes) == executed(changes)
