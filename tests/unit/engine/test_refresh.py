"""Refresh reads the server with list calls: its cost grows with persons, not faces."""

from __future__ import annotations

from pathlib import Path

from facesync.digest import text_digest
from facesync.engine.refresh import refresh
from facesync.errors import ApiError
from facesync.manifest.model import DesiredGroup, DesiredPerson, Manifest
from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from facesync.state.journal import CREATE_PERSON, Intent, user_data_digest
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState
from tests.fakes import FakeBackend

PG, LPG = "personGroup", "largePersonGroup"
IMAGE = b"\x01" * 2048


def manifest(*groups: tuple[str, str]) -> Manifest:
    desired = tuple(DesiredGroup(gid, gid.title(), kind=kind) for gid, kind in sorted(groups))
    return Manifest(Path("/m/facesync.yaml"), "digest", desired)


def lock(*groups: tuple[str, str]) -> LockState:
    locked = tuple(LockedGroup(gid, kind, "recognition_04", "sha256:x") for gid, kind in groups)
    return LockState("embedded", 1, tuple(sorted(locked, key=lambda g: g.group_id)))


def server_with(fake: FakeBackend, gid: str, kind: str = PG, persons: int = 0, faces: int = 0):
    fake.create_group(kind, gid, gid.title(), "note", "recognition_04")
    for p in range(persons):
        pid = fake.create_person(kind, gid, f"P{p}", None)
        for f in range(faces):
            fake.add_face(kind, gid, pid, IMAGE + bytes([p % 256, f]))


def test_a_managed_group_is_read_in_full():
    fake = FakeBackend()
    server_with(fake, "staff", persons=2, faces=3)
    observed = refresh(fake, manifest(("staff", PG)), lock(("staff", PG)))
    (group,) = observed.groups
    assert (group.group_id, group.kind, group.name, group.user_data) == (
        "staff",
        PG,
        "Staff",
        "note",
    )
    assert group.recognition_model == "recognition_04"
    assert group.training_status is None  # never trained
    assert [len(p.persisted_face_ids) for p in group.persons] == [3, 3]
    assert [p.person_id for p in group.persons] == sorted(p.person_id for p in group.persons)
    assert observed.other_group_ids == ()


def test_the_cost_grows_with_pages_of_persons_and_never_with_faces():
    few_faces, many_faces = FakeBackend(page_size=1000), FakeBackend(page_size=1000)
    server_with(few_faces, "staff", persons=2500, faces=0)
    server_with(many_faces, "staff", persons=2500, faces=2)
    for fake in (few_faces, many_faces):
        fake.reset_counters()
        refresh(fake, manifest(("staff", PG)), lock(("staff", PG)))
        # 2 group listings + 1 group GET + 1 training GET + 3 pages of persons
        assert fake.calls_made == 7
    assert not many_faces.operations("get_face", "get_person")


def test_a_group_the_server_lost_is_absent_from_the_observed_state():
    fake = FakeBackend()
    observed = refresh(fake, manifest(("staff", PG)), lock(("staff", PG)))
    assert observed.groups == ()


def test_the_training_status_is_read_lower_case():
    fake = FakeBackend(training_polls=0)
    server_with(fake, "staff", persons=1, faces=1)
    fake.train_group(PG, "staff")
    observed = refresh(fake, manifest(("staff", PG)), lock(("staff", PG)))
    assert observed.group("staff").training_status == "succeeded"


def test_groups_the_lock_does_not_know_are_listed_by_kind_and_id():
    fake = FakeBackend()
    server_with(fake, "staff")
    server_with(fake, "legacy")
    server_with(fake, "crowd", kind=LPG)
    server_with(fake, "newcomer")  # in the manifest, not yet in the lock
    observed = refresh(fake, manifest(("staff", PG), ("newcomer", PG)), lock(("staff", PG)))
    assert [g.group_id for g in observed.groups] == ["newcomer", "staff"]
    assert observed.other_group_ids == ((LPG, "crowd"), (PG, "legacy"), (PG, "newcomer"))


def test_the_lock_names_the_kind_that_exists_when_the_manifest_changed_it():
    fake = FakeBackend()
    server_with(fake, "staff", kind=PG, persons=1)
    observed = refresh(fake, manifest(("staff", LPG)), lock(("staff", PG)))
    assert observed.group("staff").kind == PG
    assert len(observed.group("staff").persons) == 1


# --- what recovery needs: the userData of faces the lock does not know ----------------------


def recorded(fake: FakeBackend, *persons: tuple[str, str, tuple[str, ...]]) -> LockState:
    """A lock for staff with (key, personId, faceIds) persons."""
    locked = tuple(
        LockedPerson(key, pid, "sha256:n", None,
                     tuple(LockedFace(f"{i:064x}", f"{key}/{i}.jpg", fid)
                           for i, fid in enumerate(fids)))
        for key, pid, fids in persons
    )
    group = LockedGroup("staff", PG, "recognition_04", "sha256:x", persons=locked)
    return LockState("embedded", 1, (group,))


def wanting(*keys: str) -> Manifest:
    persons = tuple(DesiredPerson(k, k.title()) for k in sorted(keys))
    return Manifest(Path("/m/facesync.yaml"), "digest", (DesiredGroup("staff", "Staff",
                                                                      persons=persons),))


def add(fake: FakeBackend, name: str, user_data: str | None, faces: int = 0,
        face_data: str | None = None) -> tuple[str, list[str]]:
    pid = fake.create_person(PG, "staff", name, user_data)
    fids = [fake.add_face(PG, "staff", pid, IMAGE + bytes([len(name), f]), user_data=face_data)
            for f in range(faces)]
    return pid, fids


def test_a_face_the_lock_does_not_know_on_a_managed_person_is_read_once():
    fake = FakeBackend()
    server_with(fake, "staff")
    pid, (known, lost) = add(fake, "Alice", PERSON_PREFIX + "alice", 2, FACE_PREFIX + "a" * 64)
    fake.reset_counters()
    observed = refresh(fake, wanting("alice"), recorded(fake, ("alice", pid, (known,))))
    assert observed.faces_read == ((lost, FACE_PREFIX + "a" * 64),)
    assert [c.args["person_id"] for c in fake.operations("get_face")] == [pid]


def test_every_face_of_a_person_we_may_adopt_is_read_and_strangers_are_not():
    fake = FakeBackend()
    server_with(fake, "staff")
    _, ours = add(fake, "Alice", PERSON_PREFIX + "alice", 2)
    add(fake, "Stranger", None, 3)
    add(fake, "Carol", PERSON_PREFIX + "carol", 2)  # ours, but to be deleted: no need to read
    fake.reset_counters()
    observed = refresh(fake, wanting("alice"), recorded(fake))
    assert sorted(fid for fid, _ in observed.faces_read) == sorted(ours)
    assert len(fake.operations("get_face")) == 2


def test_a_person_matched_by_a_pending_intent_has_its_faces_read():
    fake = FakeBackend()
    server_with(fake, "staff")
    _, faces = add(fake, "Alice", "employee 7", 1, "smiling")
    intent = Intent(CREATE_PERSON, "staff", PG, person="alice", name_digest=text_digest("Alice"),
                    user_data_digest=user_data_digest("employee 7"))
    assert refresh(fake, wanting("alice"), recorded(fake)).faces_read == ()
    observed = refresh(fake, wanting("alice"), recorded(fake), intents=[intent])
    assert observed.faces_read == ((faces[0], "smiling"),)


def test_a_face_deleted_between_the_listing_and_its_get_is_skipped():
    fake = FakeBackend()
    server_with(fake, "staff")
    pid, (gone,) = add(fake, "Alice", PERSON_PREFIX + "alice", 1)
    fake.inject("get_face", ApiError(404, "PersistedFaceNotFound", "gone"))
    observed = refresh(fake, wanting("alice"), recorded(fake, ("alice", pid, ())))
    assert observed.faces_read == ()
    assert gone
