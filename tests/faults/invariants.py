"""The invariants of a recovered apply: server == manifest, lock == server, no
duplicate, no orphan, no lost id.

Read from the outside only (the Face REST API and the lock file's JSON), never
through facesync's own refresh, so that a bug there cannot hide itself. Used by
the fault campaign, the property tests and bench/faults.py.

Counting, per managed group:
- duplicate: a second (third, ...) server object for one manifest person or one
  manifest face of a person; an object belongs to a manifest object by the
  lock's id, else by its facesync marker, else by the manifest's own userData.
  An unrecorded object whose userData several manifest objects share (photos
  given one userData by a glob) copies one of them: a duplicate, and an orphan.
- lost id: a manifest object the server holds but the lock records no id for.
- orphan: a server object the lock does not record, that carries a facesync
  marker or copies a manifest object, and that is not counted as lost (so an
  unrecorded duplicate is an orphan too, and so are the marked faces of an
  orphaned person).
Anything else that differs (missing objects, ids in the lock the server lacks,
names, userData, unmarked extra objects) is a problem without a count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from facesync.markers import (
    face_sha_from_marker,
    face_user_data,
    person_key_from_marker,
    person_user_data,
)
from tests.lock_reading import read_lock_json

KEY_HEADER = "Ocp-Apim-Subscription-Key"
KIND_PATHS = {"personGroup": "persongroups", "largePersonGroup": "largepersongroups"}
T = TypeVar("T")

# --- what should exist ----------------------------------------------------


@dataclass(frozen=True)
class ExpectedFace:
    sha256: str
    user_data: str | None = None  # as the manifest says; None leaves room for the marker


@dataclass(frozen=True)
class ExpectedPerson:
    key: str
    name: str
    user_data: str | None = None
    faces: tuple[ExpectedFace, ...] = ()


@dataclass(frozen=True)
class ExpectedGroup:
    group_id: str
    name: str
    persons: tuple[ExpectedPerson, ...] = ()
    kind: str = "personGroup"


# --- what exists ------------------------------------------------------------


@dataclass(frozen=True)
class ServerFace:
    face_id: str
    user_data: str | None


@dataclass(frozen=True)
class ServerPerson:
    person_id: str
    name: str
    user_data: str | None
    faces: tuple[ServerFace, ...] = ()


@dataclass(frozen=True)
class ServerGroup:
    name: str
    persons: tuple[ServerPerson, ...] = ()


def read_group(url: str, key: str, group_id: str, kind: str = "personGroup") -> ServerGroup | None:
    """The group as the server holds it, each face's userData included; None when absent."""
    base = f"{url}/face/v1.0/{KIND_PATHS[kind]}/{group_id}"
    with requests.Session() as session:
        session.headers[KEY_HEADER] = key

        def get(path: str, **params: Any) -> Any:
            response = session.get(base + path, params=params, timeout=30)
            response.raise_for_status()
            return response.json()

        group = session.get(base, timeout=30)
        if group.status_code == 404:
            return None
        group.raise_for_status()
        persons = []
        for raw in _all_persons(get):
            pid = raw["personId"]
            faces = tuple(
                ServerFace(fid, get(f"/persons/{pid}/persistedfaces/{fid}").get("userData"))
                for fid in raw.get("persistedFaceIds", [])
            )
            persons.append(ServerPerson(pid, raw.get("name", ""), raw.get("userData"), faces))
    return ServerGroup(group.json().get("name", ""), tuple(persons))


def _all_persons(get: Callable[..., Any]) -> list[dict[str, Any]]:
    persons: list[dict[str, Any]] = []
    for _ in range(1000):  # pages of 1,000; bounded
        page = get("/persons", top=1000, **({"start": persons[-1]["personId"]} if persons else {}))
        persons.extend(page)
        if len(page) < 1000:
            return persons
    raise AssertionError("more than a million persons in a test group")


# --- the verdict ------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    duplicates: int = 0
    orphans: int = 0
    lost_ids: int = 0
    problems: tuple[str, ...] = ()  # one sentence each, sorted

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Tally:
    duplicates: int = 0
    orphans: int = 0
    lost_ids: int = 0
    problems: list[str] = field(default_factory=list)

    def verdict(self) -> Verdict:
        return Verdict(self.duplicates, self.orphans, self.lost_ids, tuple(sorted(self.problems)))


def verify(url: str, key: str, expected: ExpectedGroup, lock_path: Path) -> Verdict:
    """Read the server and the lock, then check every invariant."""
    server = read_group(url, key, expected.group_id, expected.kind)
    lock = read_lock_json(lock_path) if lock_path.exists() else {}
    return check(expected, lock, server)


def check(expected: ExpectedGroup, lock: Mapping[str, Any], server: ServerGroup | None) -> Verdict:
    """The invariants of one managed group, from its manifest, lock document and server state."""
    tally = _Tally()
    gid = expected.group_id
    locked = lock.get("groups", {}).get(gid)
    if locked is None:
        tally.problems.append(f"the lock records no group {gid}")
        locked = {"persons": {}}
    if server is None:
        tally.problems.append(f"the server has no group {gid}")
        return tally.verdict()
    if server.name != expected.name:
        tally.problems.append(f"{gid}: name {server.name!r}, wanted {expected.name!r}")
    _check_persons(tally, expected, locked["persons"], server.persons)
    return tally.verdict()


def _check_persons(
    tally: _Tally, expected: ExpectedGroup, locked: Mapping[str, Any],
    server: tuple[ServerPerson, ...],
) -> None:  # fmt: skip
    gid = expected.group_id
    wanted = {p.key: p for p in expected.persons}
    for key in sorted(set(locked) - set(wanted)):
        tally.problems.append(f"{gid}/{key}: the lock records a person the manifest does not have")
    recorded = {entry["personId"]: key for key, entry in locked.items()}
    by_data = _unique_by({k: p.user_data for k, p in wanted.items() if p.user_data is not None})
    owners = _attribute(
        server, lambda p: recorded.get(p.person_id) or person_key_from_marker(p.user_data)
        or by_data.get(p.user_data or ""),
    )  # fmt: skip
    held = {p.person_id for p in server}
    for pid, key in sorted(recorded.items()):
        if pid not in held:
            tally.problems.append(f"{gid}/{key}: the lock's personId {pid} is not on the server")
    shared = {(p.name, p.user_data) for p in expected.persons if p.user_data is not None
              and p.user_data not in by_data}
    for key, objects in sorted(owners.items(), key=lambda item: item[0] or ""):
        if key is None or key not in wanted:
            for person in objects:
                if person.person_id not in recorded:  # else: a stale lock entry, said above
                    copy = (person.name, person.user_data) in shared
                    tally.duplicates += copy
                    _unowned(tally, gid, person.person_id, person.user_data, "person", copy=copy)
                    _orphan_faces(tally, f"{gid}/{key}", person)
            continue
        _one_person(tally, gid, wanted[key], locked.get(key), objects)
    for key in sorted(set(wanted) - set(owners)):
        tally.problems.append(f"{gid}/{key}: missing on the server")


def _one_person(
    tally: _Tally, gid: str, want: ExpectedPerson, locked: Mapping[str, Any] | None,
    objects: list[ServerPerson],
) -> None:  # fmt: skip
    where = f"{gid}/{want.key}"
    if len(objects) > 1:
        tally.duplicates += len(objects) - 1
        tally.problems.append(f"{where}: {len(objects)} persons on the server")
    recorded_id = locked["personId"] if locked else None
    main = next((p for p in objects if p.person_id == recorded_id), None)
    if locked is None:
        tally.lost_ids += 1
        tally.problems.append(f"{where}: on the server as {objects[0].person_id}, not in the lock")
        main = objects[0]
    for extra in objects:
        if extra is not main:
            _unowned(tally, gid, extra.person_id, extra.user_data, "person", copy=True)
            _orphan_faces(tally, where, extra)
    if main is None:
        return
    if main.name != want.name:
        tally.problems.append(f"{where}: name {main.name!r}, wanted {want.name!r}")
    data = person_user_data(want.key, want.user_data)
    if (main.user_data or "") != data:
        tally.problems.append(f"{where}: userData {main.user_data!r}, wanted {data!r}")
    faces = {f["sha256"]: f["persistedFaceId"] for f in (locked or {}).get("faces", [])}
    _check_faces(tally, where, want, faces, main)


def _check_faces(
    tally: _Tally, where: str, want: ExpectedPerson, locked: Mapping[str, str],
    person: ServerPerson,
) -> None:  # fmt: skip
    wanted = {f.sha256: f for f in want.faces}
    for sha in sorted(set(locked) - set(wanted)):
        tally.problems.append(f"{where}: the lock records face {sha[:12]} the manifest lacks")
    recorded = {fid: sha for sha, fid in locked.items()}
    by_data = _unique_by({s: f.user_data for s, f in wanted.items() if f.user_data is not None})
    owners = _attribute(
        person.faces, lambda f: recorded.get(f.face_id) or face_sha_from_marker(f.user_data)
        or by_data.get(f.user_data or ""),
    )  # fmt: skip
    held = {f.face_id for f in person.faces}
    for fid, sha in sorted(recorded.items()):
        if fid not in held:
            tally.problems.append(
                f"{where}: the lock records face {sha[:12]} as {fid}, absent on the server"
            )
    shared = {f.user_data for f in want.faces if f.user_data is not None} - set(by_data)
    for sha, objects in sorted(owners.items(), key=lambda item: item[0] or ""):
        if sha is None or sha not in wanted:
            for face in objects:
                if face.face_id in recorded:  # a stale lock entry, said above
                    continue
                if (face.user_data or "") in shared:  # a copy of one of the photos sharing it
                    tally.duplicates += 1
                _unowned(tally, where, face.face_id, face.user_data, "face",
                         copy=(face.user_data or "") in shared)
            continue
        if len(objects) > 1:
            tally.duplicates += len(objects) - 1
            tally.problems.append(f"{where}: {len(objects)} faces of {sha[:12]} on the server")
        main = next((f for f in objects if f.face_id == locked.get(sha)), None)
        if sha not in locked:
            tally.lost_ids += 1
            tally.problems.append(f"{where}: face {sha[:12]} on the server, not in the lock")
            main = objects[0]
        for extra in objects:
            if extra is not main:
                _unowned(tally, where, extra.face_id, extra.user_data, "face", copy=True)
        data = face_user_data(sha, wanted[sha].user_data)
        if main is not None and (main.user_data or "") != data:
            tally.problems.append(f"{where}: face {sha[:12]} has userData {main.user_data!r}")
    for sha in sorted(set(wanted) - set(owners)):
        tally.problems.append(f"{where}: face {sha[:12]} missing on the server")


def _attribute(objects: Iterable[T], owner: Callable[[T], str | None]) -> dict[str | None, list[T]]:
    """Group server objects by the manifest identity they belong to (None: none):
    the lock's id first, then facesync's marker, then the manifest's own userData."""
    owners: dict[str | None, list[T]] = defaultdict(list)
    for obj in objects:
        owners[owner(obj)].append(obj)
    return dict(owners)


def _unique_by(user_data: Mapping[str, str]) -> dict[str, str]:
    """userData text -> identity, for texts only one identity uses."""
    seen: dict[str, list[str]] = defaultdict(list)
    for identity, text in user_data.items():
        seen[text].append(identity)
    return {text: ids[0] for text, ids in seen.items() if len(ids) == 1}


def _unowned(
    tally: _Tally, where: str, object_id: str, user_data: str | None, what: str,
    *, copy: bool = False,
) -> None:  # fmt: skip
    """An object the lock does not record and that is not the one copy of a lost id.
    It is an orphan when it carries facesync's marker or copies a manifest object
    (`copy`); else nothing says facesync made it."""
    text = user_data or ""
    marked = person_key_from_marker(text) is not None or face_sha_from_marker(text) is not None
    if marked or copy:
        tally.orphans += 1
        tally.problems.append(f"{where}: orphaned {what} {object_id} ({text[:40]})")
    else:
        tally.problems.append(f"{where}: unknown {what} {object_id} ({text[:40]!r})")


def _orphan_faces(tally: _Tally, where: str, person: ServerPerson) -> None:
    for face in person.faces:
        _unowned(tally, f"{where}@{person.person_id}", face.face_id, face.user_data, "face")
