"""The order in which a plan's changes may run, as a dependency graph
(docs/apply.md: Order).

Two kinds of edge:
- `requires`: the change needs the other one to have *succeeded* (a face of a
  person created in this plan needs that person's id); when it fails, this
  change is skipped and only the failure is reported.
- `after`: the change merely runs once the other has *finished*, whatever its
  outcome (faces of one person run one at a time; a group is trained after
  every change inside it; deletes of faces run before their person's delete).

Changes of one person share a `lane`; the lane is chained with `after` edges,
so at most one call per person is in flight, which the API requires.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from facesync.plan.model import Action, Change, ResourceType
from facesync.plan.payloads import MEMBER_PAYLOADS

Lane = tuple[str, str]  # (group id, person key)

# Dispatch order among ready changes: deletes first (they free quota), training last.
_PRIORITY = {
    (ResourceType.FACE, Action.DELETE): 0,
    (ResourceType.PERSON, Action.DELETE): 1,
    (ResourceType.GROUP, Action.DELETE): 2,
    (ResourceType.GROUP, Action.REPLACE): 3,
    (ResourceType.GROUP, Action.CREATE): 3,
    (ResourceType.GROUP, Action.UPDATE): 4,
    (ResourceType.PERSON, Action.REPLACE): 5,
    (ResourceType.PERSON, Action.CREATE): 5,
    (ResourceType.PERSON, Action.UPDATE): 6,
    (ResourceType.FACE, Action.REPLACE): 7,
    (ResourceType.FACE, Action.UPDATE): 8,
    (ResourceType.FACE, Action.CREATE): 9,
}
_TRAIN_PRIORITY = 10


@dataclass(frozen=True)
class Node:
    index: int  # position in the plan
    change: Change
    requires: frozenset[int]  # must succeed first, else this node is skipped
    after: frozenset[int]  # must have finished first (ordering only)
    lane: Lane | None  # one call at a time per person
    priority: int

    @property
    def waits_for(self) -> frozenset[int]:
        return self.requires | self.after


@dataclass(frozen=True)
class ExecutionGraph:
    nodes: tuple[Node, ...]

    def dependents(self) -> dict[int, tuple[int, ...]]:
        """For each node, the nodes that wait for it (sorted)."""
        out: dict[int, list[int]] = defaultdict(list)
        for node in self.nodes:
            for dep in node.waits_for:
                out[dep].append(node.index)
        return {i: tuple(sorted(out.get(i, ()))) for i in range(len(self.nodes))}


def build_graph(changes: Sequence[Change]) -> ExecutionGraph:
    """Nodes and dependencies for `changes`."""
    by_group: dict[str, list[int]] = defaultdict(list)  # member (person/face) changes
    group_level: dict[str, list[int]] = defaultdict(list)
    person_create: dict[Lane, int] = {}
    lanes: dict[Lane, list[int]] = defaultdict(list)
    trains: dict[str, list[int]] = defaultdict(list)
    for i, change in enumerate(changes):
        group, kind = _group_of(change), change.address.type
        if change.action is Action.TRAIN:
            trains[group].append(i)
        elif kind is ResourceType.GROUP:
            group_level[group].append(i)
        else:
            by_group[group].append(i)
            lane = _lane_of(change)
            lanes[lane].append(i)
            if kind is ResourceType.PERSON and change.action in (Action.CREATE, Action.REPLACE):
                person_create[lane] = i

    requires: dict[int, set[int]] = defaultdict(set)
    after: dict[int, set[int]] = defaultdict(set)
    for group, indices in group_level.items():
        _order_group_level(changes, indices, by_group[group], requires, after)
    for lane, indices in lanes.items():
        chain = sorted(indices, key=lambda i: (_lane_rank(changes[i]), i))
        for before, then in zip(chain, chain[1:], strict=False):
            after[then].add(before)
        create = person_create.get(lane)
        for i in indices:
            if create is not None and i != create and changes[i].action is not Action.DELETE:
                requires[i].add(create)
    for group, indices in trains.items():
        makers = [i for i in group_level[group] if changes[i].action in _MAKES_GROUP]
        for t in indices:
            requires[t].update(makers)
            after[t].update(set(by_group[group]) | set(group_level[group]))

    nodes = []
    for i, change in enumerate(changes):
        lane = _lane_of(change) if change.address.type is not ResourceType.GROUP else None
        if change.action is Action.TRAIN:
            lane = None
        nodes.append(
            Node(
                i,
                change,
                frozenset(requires[i]),
                frozenset(after[i] - requires[i]),
                lane,
                _priority(change),
            )
        )
    return ExecutionGraph(tuple(nodes))


_MAKES_GROUP = (Action.CREATE, Action.REPLACE)


def _order_group_level(
    changes: Sequence[Change],
    indices: list[int],
    members: list[int],
    requires: dict[int, set[int]],
    after: dict[int, set[int]],
) -> None:
    """A group's own changes: delete, then create/replace, then update; the
    group exists before its members and is deleted after their deletes."""
    deletes = [i for i in indices if changes[i].action is Action.DELETE]
    makers = [i for i in indices if changes[i].action in _MAKES_GROUP]
    updates = [i for i in indices if changes[i].action is Action.UPDATE]
    for m in makers:
        requires[m].update(deletes)  # the id must be free again
    for u in updates:
        requires[u].update(makers)
        after[u].update(deletes)
    for i in members:
        if changes[i].action is Action.DELETE:
            for d in deletes:
                after[d].add(i)  # faces, then persons, then the group
        else:
            requires[i].update(makers)


def _lane_rank(change: Change) -> int:
    """Order inside one person: free slots first (248-face limit), then create."""
    kind, action = change.address.type, change.action
    if kind is ResourceType.FACE:
        return {Action.DELETE: 0, Action.REPLACE: 4, Action.UPDATE: 5}.get(action, 6)
    return {Action.DELETE: 1, Action.CREATE: 2, Action.REPLACE: 2}.get(action, 3)


def _priority(change: Change) -> int:
    if change.action is Action.TRAIN:
        return _TRAIN_PRIORITY
    return _PRIORITY.get((change.address.type, change.action), 9)


def _group_of(change: Change) -> str:
    return change.payload.group_id or change.address.group


def _lane_of(change: Change) -> Lane:
    """The person a member change belongs to: its payload's key (an unrecorded
    duplicate's address may show a server id instead)."""
    payload = change.payload
    key = payload.person_key if isinstance(payload, MEMBER_PAYLOADS) else None
    return (_group_of(change), key or str(change.address.person))
