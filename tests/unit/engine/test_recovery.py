"""Lost answers and crashes against the FakeBackend: the journal records every
create before it goes out, extra passes adopt what lost answers made, nothing
is duplicated, and every id ends in the lock (docs/recovery.md)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from facesync.digest import bytes_key
from facesync.engine.converge import Passes, converge
from facesync.engine.executor import ApplyReport, execute
from facesync.engine.planning import plan_with_journal
from facesync.engine.record import CallResult, record
from facesync.errors import ApiError, ApiUnreachableError
from facesync.manifest.model import DesiredFace, DesiredGroup, DesiredPerson, Manifest
from facesync.plan.model import Action, Change
from facesync.state.journal import Journal
from facesync.state.model import LockState
from tests.fakes import FakeBackend, lost_answer

PG = "personGroup"


class MemoryLock:
    """The lock as apply writes it, kept in memory."""

    def __init__(self) -> None:
        self.state = LockState("embedded")
        self.writes = 0

    def checkpoint(self, change: Change, result: CallResult) -> None:
        self.state = record(self.state, change, result)
        self.writes += 1

    def replace_state(self, state: LockState) -> None:
        self.state = state


def photo(folder: Path, name: str) -> DesiredFace:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hashlib.sha256(name.encode()).digest() * 64)  # 2 KB, distinct
    return DesiredFace(name, path, bytes_key(path.read_bytes()), 2048)


def gallery(folder: Path, persons: int = 3, faces: int = 2) -> Manifest:
    people = tuple(
        DesiredPerson(f"p{p}", f"Person {p}",
                      faces=tuple(sorted((photo(folder, f"p{p}/{f}.jpg") for f in range(faces)),
                                         key=lambda d: d.sha256)))
        for p in range(persons)
    )
    return Manifest(folder / "facesync.yaml", "digest", (DesiredGroup("staff", "Staff",
                                                                      persons=people),))


class Run:
    """One `facesync apply` against a fake: plan with the journal, then converge."""

    def __init__(self, folder: Path, fake: FakeBackend, lock: MemoryLock | None = None) -> None:
        self.fake, self.lock = fake, lock or MemoryLock()
        self.journal = Journal.for_lock(folder / "facesync.lock.json")
        self.announced: list[str] = []

    def apply(self, m: Manifest, policy: Passes | None = None) -> ApplyReport:
        plan, reads = plan_with_journal(self.fake, m, self.lock.state, self.journal)
        return converge(
            plan, self.fake, manifest=m, writer=self.lock, journal=self.journal,
            run=lambda p: execute(p, self.fake, checkpoint=self.lock.checkpoint, parallelism=2,
                                  sleep=lambda s: None, journal=self.journal),
            policy=policy or Passes(), sleep=lambda s: None, first_reads=reads,
            announce=lambda text, plan: self.announced.append(text),
        )


def assert_exactly_the_manifest(fake: FakeBackend, m: Manifest, lock: LockState) -> None:
    """Server == manifest (each key once, each image once per person), lock == server."""
    staff = fake.group("staff")
    want = {p.name: sorted(f.sha256 for f in p.faces) for p in m.groups[0].persons}
    names = Counter(p.name for p in staff.persons.values())
    assert names == Counter(list(want)), "a person is missing or duplicated"
    for p in staff.persons.values():
        assert sorted(f.sha256 for f in p.faces.values()) == want[p.name], p.name
    locked = lock.group("staff")
    assert {p.person_id for p in locked.persons} == set(staff.persons)
    for p in locked.persons:
        assert {f.persisted_face_id for f in p.faces} == set(staff.persons[p.person_id].faces)


# --- the journal around each create -----------------------------------------------------


def test_an_intent_is_on_disk_before_the_create_goes_out(tmp_path: Path) -> None:
    fake, run = FakeBackend(), None
    seen: list[int] = []
    original = fake.create_person

    def spy(*args, **kwargs):
        seen.append(len(run.journal.pending()))  # type: ignore[union-attr]
        return original(*args, **kwargs)

    fake.create_person = spy  # type: ignore[method-assign]
    run = Run(tmp_path, fake)
    assert run.apply(gallery(tmp_path, persons=1, faces=0)).ok
    assert seen == [1]


def test_a_clear_answer_resolves_its_intent_and_a_lost_one_leaves_it_pending(
    tmp_path: Path,
) -> None:
    fake = FakeBackend()
    fake.inject("create_person", ApiError(400, "BadArgument", "no"), name="Person 0")
    fake.lose_answers("create_person", name="Person 1")
    run = Run(tmp_path, fake)
    m = gallery(tmp_path, persons=3, faces=0)
    plan, _ = plan_with_journal(fake, m, run.lock.state, run.journal)
    execute(plan, fake, checkpoint=run.lock.checkpoint, parallelism=1, journal=run.journal)
    pending = run.journal.pending()
    assert [(i.op, i.person) for i in pending] == [("create_person", "p1")]


def test_the_journal_is_emptied_after_a_complete_apply(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("add_face")
    run = Run(tmp_path, fake)
    assert run.apply(gallery(tmp_path)).ok
    assert not run.journal.path.exists()


# --- lost answers are adopted, never repeated ---------------------------------------------


def test_a_lost_create_person_answer_is_adopted_by_the_next_pass(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("create_person", name="Person 1")
    run, m = Run(tmp_path, fake), gallery(tmp_path)
    report = run.apply(m)
    assert report.ok
    assert (report.passes, report.recovered, report.adopted) == (2, 1, 1)
    assert len(fake.operations("create_person")) == 3  # never sent twice
    assert_exactly_the_manifest(fake, m, run.lock.state)
    assert any("reading the server again" in line for line in run.announced)


def test_a_lost_add_face_answer_is_adopted_by_the_next_pass(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("add_face", times=2)
    run, m = Run(tmp_path, fake), gallery(tmp_path)
    report = run.apply(m)
    assert report.ok and report.passes == 2 and report.adopted == 2
    assert len(fake.operations("add_face")) == 6
    assert_exactly_the_manifest(fake, m, run.lock.state)


def test_a_lost_group_put_answer_is_adopted_from_the_journal(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("create_group")
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=1, faces=1)
    report = run.apply(m)
    assert report.ok and report.passes == 2
    assert len(fake.operations("create_group")) == 1
    assert_exactly_the_manifest(fake, m, run.lock.state)


def test_a_group_put_that_finds_its_own_lost_group_is_adopted(tmp_path: Path) -> None:
    fake = FakeBackend()
    # what the client says after a first PUT lost its answer
    exists = ApiError(409, "PersonGroupExists", "Person group already exists.", ambiguous=True)
    fake.inject("create_group", exists, after=True)
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=1, faces=1)
    assert run.apply(m).ok
    assert_exactly_the_manifest(fake, m, run.lock.state)


def test_a_create_refused_by_a_500_is_made_by_the_next_pass(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.inject("create_person", name="Person 2")  # 500 before anything happened
    run, m = Run(tmp_path, fake), gallery(tmp_path)
    report = run.apply(m)
    assert report.ok and report.passes == 2 and report.adopted == 0
    assert_exactly_the_manifest(fake, m, run.lock.state)


def test_every_answer_lost_still_converges_without_a_duplicate(tmp_path: Path) -> None:
    fake = FakeBackend()
    for operation in ("create_group", "create_person", "add_face"):
        fake.lose_answers(operation, times=100)
    run, m = Run(tmp_path, fake), gallery(tmp_path)
    report = run.apply(m)
    assert report.ok
    assert report.passes == 4  # group, then persons, then faces, then nothing left but training
    assert_exactly_the_manifest(fake, m, run.lock.state)


@pytest.mark.parametrize("seed", range(12))
def test_random_lost_and_refused_answers_converge_to_exactly_the_manifest(
    tmp_path: Path, seed: int
) -> None:
    fake = FakeBackend()
    fake.flaky(0.35, seed)
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=4, faces=3)
    report = run.apply(m)
    assert report.ok, [str(e) for _, e in report.failed]
    assert_exactly_the_manifest(fake, m, run.lock.state)
    assert fake.faults == 0 or report.passes > 1


def test_a_crash_between_answer_and_lock_write_is_adopted_by_the_next_apply(
    tmp_path: Path,
) -> None:
    fake, m = FakeBackend(), gallery(tmp_path)
    first = Run(tmp_path, fake)
    # The lock write after the 4th mutation fails: the apply stops, as a kill would.
    original = first.lock.checkpoint

    def dies(change: Change, result: CallResult) -> None:
        if first.lock.writes == 3:
            raise OSError("killed")
        original(change, result)

    first.lock.checkpoint = dies  # type: ignore[method-assign]
    with pytest.raises(OSError):
        first.apply(m)
    survived = MemoryLock()
    survived.state = first.lock.state  # what the lock file held when the process died
    again = Run(tmp_path, fake, survived)
    report = again.apply(m)
    assert report.ok and report.adopted >= 1  # what was in flight when it died
    assert_exactly_the_manifest(fake, m, again.lock.state)


# --- bounds and failures no pass can fix ---------------------------------------------------


def test_repeated_failures_stop_after_three_fruitless_extra_passes(tmp_path: Path) -> None:
    fake = FakeBackend()
    m = gallery(tmp_path, persons=1, faces=2)
    stuck = m.groups[0].persons[0].faces[0].sha256
    fake.inject("add_face", times=1000, sha256=stuck)  # a 500 before commit, every time
    run = Run(tmp_path, fake)
    report = run.apply(m)
    assert not report.ok
    assert report.passes == 4  # the first, then three extra passes that change nothing
    assert len(fake.operations("add_face")) == 1 + 4
    (failed,) = report.failed
    assert failed[1].status == 500
    assert run.journal.path.exists()  # kept: the next apply may still need it


def test_passes_that_make_progress_go_on_up_to_the_overall_bound(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("add_face", times=100)
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=1, faces=2)
    report = run.apply(m, Passes(fruitless=1, most=2))
    assert report.passes == 2 and report.ok


def test_a_refusal_is_reported_once_and_not_tried_again(tmp_path: Path) -> None:
    fake = FakeBackend()
    m = gallery(tmp_path)
    bad = m.groups[0].persons[0].faces[0].sha256
    fake.inject("add_face", ApiError(400, "InvalidImage", "No face detected."), sha256=bad)
    fake.lose_answers("create_person", name="Person 2")
    run = Run(tmp_path, fake)
    report = run.apply(m)
    assert [e.code for _, e in report.failed] == ["InvalidImage"]
    assert report.passes == 2 and report.recovered == 1
    assert len(fake.operations("add_face")) == 6  # the refused one once, never again
    names = Counter(p.name for p in fake.group("staff").persons.values())
    assert names == Counter({"Person 0": 1, "Person 1": 1, "Person 2": 1})


def test_a_dead_endpoint_stops_without_extra_passes(tmp_path: Path) -> None:
    fake = FakeBackend()
    down = ApiUnreachableError("cannot reach: connection refused", ambiguous=False)
    fake.inject("create_person", down)
    fake.lose_answers("add_face")
    report = Run(tmp_path, fake).apply(gallery(tmp_path, persons=1, faces=1))
    assert report.passes == 1 and not report.ok


def test_extra_calls_count_the_refreshes_and_face_reads_of_recovery(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("add_face")
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=1, faces=1)
    report = run.apply(m)
    # pass 2's refresh: 2 group listings, group GET, training GET, person list, 1 face GET
    assert report.reconcile_calls == 6
    assert report.calls == len(fake.calls) - 6 - 3  # minus both refreshes (3 calls on empty)


def test_lost_answer_helper_is_ambiguous() -> None:
    assert lost_answer("add_face").ambiguous is True


def test_training_happens_once_everything_is_in(tmp_path: Path) -> None:
    fake = FakeBackend()
    fake.lose_answers("add_face")
    run, m = Run(tmp_path, fake), gallery(tmp_path, persons=1, faces=1)
    report = run.apply(m)
    assert report.training["staff"].status == "succeeded"
    trains = [c for c in report.succeeded if c.action is Action.TRAIN]
    assert len(trains) == 2  # what pass 1 could, then again with the adopted face
