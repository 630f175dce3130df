"""Small builders for desired, recorded and observed states (no I/O).

A face is named by its path; its bytes by an `image` label (default: the
path), whose SHA-256 is its identity, so `face("b.jpg", image="a.jpg")` is
the image of a.jpg renamed to b.jpg.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from facesync.digest import image_key
from facesync.manifest.model import (
    DEFAULT_DETECTION_MODEL,
    DEFAULT_RECOGNITION_MODEL,
    PERSON_GROUP,
    DesiredFace,
    DesiredGroup,
    DesiredPerson,
    Manifest,
    TargetFace,
)
from facesync.plan.diff import diff
from facesync.plan.model import Address, Plan
from facesync.state.journal import Intent
from facesync.state.model import LockState, ObservedState

from .fake_server import FakeServer

FOLDER = Path("/work/gallery")


def sha(label: str) -> str:
    return image_key(hashlib.sha256(label.encode()).hexdigest())


def face(
    path: str,
    *,
    image: str | None = None,
    target_face: TargetFace | None = None,
    user_data: str | None = None,
    detection_model: str = DEFAULT_DETECTION_MODEL,
) -> DesiredFace:
    return DesiredFace(
        path=path,
        abs_path=FOLDER / path,
        sha256=sha(image or path),
        size=4096,
        target_face=target_face,
        user_data=user_data,
        detection_model=detection_model,
    )


def person(
    key: str, *faces: DesiredFace, name: str | None = None, user_data: str | None = None
) -> DesiredPerson:
    return DesiredPerson(
        key=key,
        name=name if name is not None else key,
        user_data=user_data,
        faces=tuple(sorted(faces, key=lambda f: f.sha256)),
    )


def group(
    group_id: str,
    *persons: DesiredPerson,
    name: str | None = None,
    kind: str = PERSON_GROUP,
    recognition_model: str = DEFAULT_RECOGNITION_MODEL,
    user_data: str | None = None,
) -> DesiredGroup:
    return DesiredGroup(
        group_id=group_id,
        name=name if name is not None else group_id.title(),
        kind=kind,
        recognition_model=recognition_model,
        user_data=user_data,
        persons=tuple(sorted(persons, key=lambda p: p.key)),
    )


def manifest(*groups: DesiredGroup) -> Manifest:
    content = repr(groups).encode()  # any change of content changes the digest
    return Manifest(
        path=FOLDER / "facesync.yaml",
        digest="sha256:" + hashlib.sha256(content).hexdigest(),
        groups=tuple(sorted(groups, key=lambda g: g.group_id)),
    )


def with_person(m: Manifest, group_id: str, new: DesiredPerson) -> Manifest:
    """`m` with person `new` added to (or replacing its namesake in) the group."""
    g = m.group(group_id)
    assert g is not None
    persons = [p for p in g.persons if p.key != new.key] + [new]
    return manifest(*[x for x in m.groups if x.group_id != group_id],
                    replace(g, persons=tuple(sorted(persons, key=lambda p: p.key))))


def without_person(m: Manifest, group_id: str, key: str) -> Manifest:
    g = m.group(group_id)
    assert g is not None
    return manifest(*[x for x in m.groups if x.group_id != group_id],
                    replace(g, persons=tuple(p for p in g.persons if p.key != key)))


def with_group(m: Manifest, new: DesiredGroup) -> Manifest:
    return manifest(*[g for g in m.groups if g.group_id != new.group_id], new)


def lines(plan: Plan) -> list[str]:
    """`+ staff/alice`-style lines without reasons: what the table tests compare."""
    return [f"{c.action.symbol} {c.address}" for c in plan.changes]


@dataclass
class World:
    """A fake server plus the lock an apply left: plan against it, apply, drift it."""

    server: FakeServer
    lock: LockState

    def observed(self, m: Manifest | None = None) -> ObservedState:
        """As refresh reads it: the lock's groups and the manifest's."""
        wanted = frozenset(g.group_id for g in m.groups) if m is not None else frozenset()
        return self.server.observe(self.lock, wanted)

    def plan(self, m: Manifest, *, refresh: bool = True, target: Address | None = None,
             intents: Sequence[Intent] = ()) -> Plan:
        observed = self.observed(m) if refresh else None
        return diff(m, self.lock, observed, target=target, intents=intents)

    def apply(self, m: Manifest, *, refresh: bool = True,
              intents: Sequence[Intent] = ()) -> Plan:
        plan = self.plan(m, refresh=refresh, intents=intents)
        self.lock = self.server.run(plan, self.lock)
        return plan


def empty_world(endpoint: str = "embedded") -> World:
    """An empty server and no lock file yet."""
    return World(FakeServer(), LockState(endpoint=endpoint))


def applied(m: Manifest, endpoint: str = "embedded") -> World:
    """A world where `m` was applied to an empty server."""
    world = empty_world(endpoint)
    world.apply(m)
    return world


# Two applied groups, for the tests of plans that put a group at risk
# (tests/unit/plan/test_danger.py, tests/unit/commands/test_confirm.py).
STAFF = group(
    "staff",
    person("alice", face("alice/01.jpg")),
    person("bob", face("bob/01.jpg")),
)
GUESTS = group("guests", person("carol", face("carol/01.jpg")))
BASE = manifest(STAFF, GUESTS)
