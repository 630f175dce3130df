"""The executor against the in-memory FakeBackend: order, parallelism, failures, checkpoints."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from facesync.engine.executor import ApplyReport, execute
from facesync.engine.record import CallResult
from facesync.errors import ApiError, ApiUnreachableError, Interrupted, LockFileError, PlanError
from facesync.plan.model import Action, Change
from tests.fakes import FakeBackend

from .builders import (
    enrolment,
    face_create,
    face_delete,
    group_create,
    image,
    person_create,
    person_delete,
    plan,
    sha,
    train,
)

MUTATIONS = (
    *("create_group", "delete_group", "update_group", "train_group"),
    *("create_person", "update_person", "delete_person"),
    *("add_face", "update_face", "delete_face"),
)


class Checkpoints:
    """A thread-safe checkpoint callback that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Action, CallResult]] = []
        self._lock = threading.Lock()

    def __call__(self, change: Change, result: CallResult) -> None:
        with self._lock:
            self.calls.append((str(change.address), change.action, result))

    def for_address(self, address: str) -> list[CallResult]:
        return [result for a, _, result in self.calls if a == address]


def run(the_plan, fake: FakeBackend, **kwargs) -> tuple[ApplyReport, Checkpoints]:
    checkpoints = Checkpoints()
    kwargs.setdefault("sleep", lambda s: None)
    report = execute(the_plan, fake, checkpoint=checkpoints, **kwargs)
    return report, checkpoints


def addresses(changes: list[Change]) -> list[str]:
    return [str(c.address) for c in changes]


def test_a_fresh_enrolment_creates_everything_and_trains(tmp_path: Path):
    fake = FakeBackend()
    report, _ = run(enrolment(tmp_path, persons=3, faces=2), fake)
    assert report.ok
    persons = fake.snapshot()["personGroup:staff"]["persons"]
    assert sorted(persons) == ["P00", "P01", "P02"]
    assert all(len(shas) == 2 for shas in persons.values())
    assert report.training["staff"].status == "succeeded"
    assert len(report.succeeded) == 1 + 3 + 6 + 1


def test_every_success_is_checkpointed_once_with_the_new_ids(tmp_path: Path):
    fake = FakeBackend()
    report, checkpoints = run(enrolment(tmp_path, persons=2, faces=2), fake)
    assert len(checkpoints.calls) == len(report.succeeded) == 8
    person_id = checkpoints.for_address("staff/p00")[0].person_id
    face_ids = [checkpoints.for_address(f"staff/p00/p00-{i}.jpg")[0].persisted_face_id
                for i in range(2)]  # fmt: skip
    assert sorted(face_ids) == sorted(fake.group("staff").persons[person_id].faces)
    trained = CallResult(training_status="succeeded")
    assert checkpoints.for_address("staff") == [CallResult(), trained]


def test_every_mutation_the_server_made_was_checkpointed(tmp_path: Path):
    fake = FakeBackend()
    _, checkpoints = run(enrolment(tmp_path, persons=4, faces=3), fake)
    assert len(fake.operations(*MUTATIONS)) == len(checkpoints.calls)


def test_a_failed_person_skips_its_faces_and_nothing_else(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("create_person", ApiError(400, "BadArgument", "'name' is too long."), name="P01")
    report, checkpoints = run(enrolment(tmp_path, persons=3, faces=2), fake)
    assert not report.ok
    assert [(str(c.address), e.code) for c, e in report.failed] == [("staff/p01", "BadArgument")]
    assert addresses(report.skipped) == ["staff/p01/p01-0.jpg", "staff/p01/p01-1.jpg"]
    assert sorted(fake.snapshot()["personGroup:staff"]["persons"]) == ["P00", "P02"]
    assert report.training["staff"].status == "succeeded"  # the others are searchable
    assert not checkpoints.for_address("staff/p01")


def test_a_failure_names_the_manifest_address_not_server_ids(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("add_face", ApiError(400, "InvalidImage", "No face detected in the image."))
    the_plan = plan(group_create(), person_create("staff", "alice"),
                    face_create("staff", "alice", image(tmp_path, "cup.jpg")))  # fmt: skip
    report, _ = run(the_plan, fake)
    ((change, error),) = report.failed
    assert str(error) == (
        "staff/alice/cup.jpg: add face failed: HTTP 400 InvalidImage: "
        "No face detected in the image."
    )


def test_a_failed_group_skips_everything_under_it_but_not_other_groups(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("create_group", ApiError(403, "QuotaExceeded", "Person group number reached."),
                group_id="staff")  # fmt: skip
    report, _ = run(plan(*enrolment(tmp_path, "staff", 2, 1).changes,
                         *enrolment(tmp_path, "guests", 2, 1).changes), fake)  # fmt: skip
    assert addresses([c for c, _ in report.failed]) == ["staff"]
    assert len(report.skipped) == 2 + 2 + 1  # persons, faces and the training of staff
    assert "personGroup:guests" in fake.snapshot()
    assert report.training["guests"].status == "succeeded"


def test_persons_are_worked_on_in_parallel(tmp_path: Path):
    fake = FakeBackend()
    fake.rendezvous("create_person", parties=4)  # breaks unless 4 calls overlap
    report, _ = run(enrolment(tmp_path, persons=4, faces=1), fake, parallelism=4)
    assert report.ok
    assert fake.max_in_flight >= 4


def test_one_person_never_has_two_calls_in_flight(tmp_path: Path):
    fake = FakeBackend(delay=0.002)
    report, _ = run(enrolment(tmp_path, persons=4, faces=6), fake, parallelism=8)
    assert report.ok
    assert fake.max_in_flight_per_person == 1
    assert fake.max_in_flight > 1


def test_parallelism_is_never_exceeded(tmp_path: Path):
    fake = FakeBackend(delay=0.002)
    run(enrolment(tmp_path, persons=10, faces=2), fake, parallelism=3)
    assert fake.max_in_flight <= 3


def test_a_photo_changed_since_the_plan_is_refused_without_a_call(tmp_path: Path):
    fake = FakeBackend()
    photo = image(tmp_path, "a.jpg")
    the_plan = plan(group_create(), person_create("staff", "alice"),
                    face_create("staff", "alice", photo))  # fmt: skip
    photo.write_bytes(b"edited" * 400)
    report, _ = run(the_plan, fake)
    ((change, error),) = report.failed
    assert isinstance(error, PlanError)
    assert "a.jpg changed since the plan was made" in str(error)
    assert not fake.operations("add_face")


def _replace_setup(tmp_path: Path, faces_before: int = 0):
    """A person holding one old face (plus `faces_before` others) and a replace of it."""
    fake = FakeBackend()
    fake.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    pid = fake.create_person("personGroup", "staff", "Alice", None)
    for n in range(faces_before):
        fake.add_face("personGroup", "staff", pid, image(tmp_path, f"o{n}.jpg", seed=100 + n)
                      .read_bytes())
    old = image(tmp_path, "a.jpg", seed=1)
    old_id = fake.add_face("personGroup", "staff", pid, old.read_bytes())
    new = image(tmp_path, "a.jpg", seed=2)
    change = face_create("staff", "alice", new, person_id=pid, old_persisted_face_id=old_id,
                         old_sha256="1" * 64)  # fmt: skip
    fake.reset_counters()
    return fake, pid, old_id, change


def test_a_face_replace_adds_the_new_face_then_deletes_the_old_one(tmp_path: Path):
    fake, pid, old_id, change = _replace_setup(tmp_path)
    report, checkpoints = run(plan(change), fake)
    assert report.ok
    assert [c.operation for c in fake.calls] == ["add_face", "delete_face"]
    (new_id,) = fake.group("staff").persons[pid].faces
    assert new_id != old_id
    added = CallResult(persisted_face_id=new_id)
    assert checkpoints.for_address("staff/alice/a.jpg") == [added]


def test_a_replace_whose_add_fails_keeps_the_old_face(tmp_path: Path):
    fake, pid, old_id, change = _replace_setup(tmp_path)
    fake.inject("add_face", ApiError(400, "InvalidImage", "No face detected in the image or in "
                                     "the specified targetFace area."))  # fmt: skip
    report, checkpoints = run(plan(change), fake)
    ((failed, error),) = report.failed
    assert "No face detected" in str(error)
    assert not fake.operations("delete_face")
    assert list(fake.group("staff").persons[pid].faces) == [old_id]
    assert checkpoints.for_address("staff/alice/a.jpg") == []  # the lock keeps the old face


def test_a_replace_at_the_face_limit_deletes_first(tmp_path: Path):
    fake, pid, old_id, change = _replace_setup(tmp_path, faces_before=247)
    report, checkpoints = run(plan(change), fake)
    assert report.ok
    assert [c.operation for c in fake.calls] == ["add_face", "delete_face", "add_face"]
    faces = fake.group("staff").persons[pid].faces
    assert len(faces) == 248 and old_id not in faces
    assert checkpoints.for_address("staff/alice/a.jpg")[0] == CallResult()


def test_a_replace_whose_old_face_cannot_be_deleted_reports_the_add(tmp_path: Path):
    fake, pid, old_id, change = _replace_setup(tmp_path)
    fake.inject("delete_face", ApiError(400, "BadArgument", "injected refusal"))
    report, checkpoints = run(plan(change), fake)
    ((failed, error),) = report.failed
    assert "added the new face" in str(error) and old_id in str(error)
    (new_id,) = [f for f in fake.group("staff").persons[pid].faces if f != old_id]
    assert checkpoints.for_address("staff/alice/a.jpg") == [CallResult(persisted_face_id=new_id)]


def test_deleting_what_is_already_gone_succeeds(tmp_path: Path):
    fake = FakeBackend()
    fake.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    gone = "00000099-0000-4000-8000-000000000099"
    report, checkpoints = run(plan(face_delete("staff", "bob", gone, gone),
                                   person_delete("staff", "bob", gone)), fake)  # fmt: skip
    assert report.ok
    assert len(checkpoints.calls) == 2


def test_a_group_under_training_is_waited_for_and_the_call_repeated(tmp_path: Path):
    fake = FakeBackend()
    busy = ApiError(409, "PersonGroupTrainingNotFinished", "Person group is under training.")
    fake.inject("create_person", busy, times=2)
    sleeps: list[float] = []
    report, _ = run(enrolment(tmp_path, persons=1, faces=1), fake, sleep=sleeps.append)
    assert report.ok
    assert len(fake.operations("create_person")) == 3
    assert sleeps[:2] == [1.0, 2.0]


def test_an_unreachable_endpoint_stops_the_apply(tmp_path: Path):
    fake = FakeBackend()
    down = ApiUnreachableError("cannot reach http://x")
    fake.inject("create_person", down, times=100)
    report, _ = run(enrolment(tmp_path, persons=6, faces=2), fake, parallelism=1)
    assert len(fake.operations("create_person")) == 1
    assert [e for _, e in report.failed] == [down]
    assert len(report.skipped) == 5 + 12 + 1


def test_a_checkpoint_that_cannot_be_written_stops_the_apply(tmp_path: Path):
    fake = FakeBackend()

    def broken(change: Change, result: CallResult) -> None:
        if change.address.person:
            raise LockFileError("cannot write example.lock.json: disk full")

    with pytest.raises(LockFileError, match="disk full"):
        execute(enrolment(tmp_path, persons=5, faces=2), fake, checkpoint=broken, parallelism=1,
                sleep=lambda s: None)  # fmt: skip
    assert len(fake.operations("create_person")) == 1


class InterruptAfter:
    """A progress sink that presses Ctrl-C once `n` changes have finished."""

    def __init__(self, n: int) -> None:
        self.n = n

    def change_finished(self, change, status, detail, calls) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def test_ctrl_c_lets_calls_in_flight_finish_and_checkpoint_then_stops(tmp_path: Path):
    fake = FakeBackend(delay=0.002)
    the_plan = enrolment(tmp_path, persons=8, faces=5)
    checkpoints = Checkpoints()
    with pytest.raises(Interrupted) as caught:
        execute(the_plan, fake, checkpoint=checkpoints, parallelism=4, progress=InterruptAfter(6),
                sleep=lambda s: None)  # fmt: skip
    assert caught.value.exit_code == 130
    made = len(fake.operations(*MUTATIONS))
    assert made == len(checkpoints.calls)  # nothing done is left unrecorded
    assert 6 <= made < len(the_plan.changes)
    report = caught.value.report
    assert len(report.succeeded) + len(report.skipped) == len(the_plan.changes)


def test_without_training_the_train_changes_are_left_out(tmp_path: Path):
    fake = FakeBackend()
    report, _ = run(enrolment(tmp_path, persons=1, faces=1), fake, train=False)
    assert report.ok and not report.training
    assert not fake.operations("train_group")
    assert Action.TRAIN not in {c.action for c in report.succeeded + report.skipped}


def test_training_is_skipped_when_every_change_before_it_failed(tmp_path: Path):
    fake = FakeBackend()
    fake.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    fake.inject("create_person", ApiError(400, "BadArgument", "bad"), times=5)
    report, _ = run(plan(person_create("staff", "a"), person_create("staff", "b"), train()), fake)
    assert addresses(report.skipped) == ["staff"]
    assert not fake.operations("train_group")


def test_the_report_lists_changes_in_plan_order(tmp_path: Path):
    fake = FakeBackend(delay=0.001)
    the_plan = enrolment(tmp_path, persons=5, faces=2)
    report, _ = run(the_plan, fake)
    assert report.succeeded == list(the_plan.changes)
    assert report.calls >= len(the_plan.changes) + 1  # plus at least one training poll


def test_a_face_added_to_a_known_person_uses_its_recorded_id(tmp_path: Path):
    fake = FakeBackend()
    fake.create_group("personGroup", "staff", "Staff", None, "recognition_04")
    pid = fake.create_person("personGroup", "staff", "Alice", None)
    photo = image(tmp_path, "b.jpg")
    report, _ = run(plan(face_create("staff", "alice", photo, person_id=pid), train()), fake)
    assert report.ok
    assert [f.sha256 for f in fake.group("staff").persons[pid].faces.values()] == [sha(photo)]


def test_a_refused_key_stops_the_apply_after_the_first_answer(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("create_group", ApiError(401, "401", "access denied: check FACESYNC_KEY"))
    plan_two = plan(
        *enrolment(tmp_path, "a", 1, 1).changes, *enrolment(tmp_path, "b", 1, 1).changes
    )
    report, _ = run(plan_two, fake, parallelism=1)
    assert len(report.failed) == 1
    assert len(fake.calls) == 1
    assert len(report.skipped) == len(plan_two.changes) - 1


def test_one_lost_answer_does_not_stop_the_other_persons(tmp_path: Path):
    fake = FakeBackend()
    lost = ApiUnreachableError("no answer", ambiguous=True)
    fake.inject("add_face", lost)
    report, _ = run(enrolment(tmp_path, persons=3, faces=1), fake, parallelism=1)
    assert len(report.failed) == 1 and not report.skipped
    assert len(fake.operations("add_face")) == 3
