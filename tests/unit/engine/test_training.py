"""Training after apply: started once, polled with growing waits until it ends."""

from __future__ import annotations

from pathlib import Path

from facesync.engine.executor import execute
from facesync.engine.record import CallResult
from facesync.errors import ApiError
from tests.fakes import FakeBackend

from .builders import enrolment, group_create, plan, train
from .test_executor import Checkpoints, run


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_training_is_polled_until_it_succeeds_with_growing_waits(tmp_path: Path):
    fake = FakeBackend(training_polls=4)
    time = FakeTime()
    report, checkpoints = run(enrolment(tmp_path, persons=2, faces=1), fake,
                              sleep=time.sleep, clock=time.clock)  # fmt: skip
    assert report.ok
    assert report.training["staff"].status == "succeeded"
    assert len(fake.operations("get_training_status")) == 5
    assert time.sleeps == sorted(time.sleeps) and time.sleeps[0] <= 0.25
    assert checkpoints.for_address("staff")[-1] == CallResult(training_status="succeeded")


def test_a_failed_training_is_reported_and_recorded(tmp_path: Path):
    fake = FakeBackend()
    report, checkpoints = run(plan(group_create(), train()), fake)  # a group without persons
    ((change, error),) = report.failed
    assert error.code == "TrainingFailed"
    assert str(error) == (
        "staff: train group failed: TrainingFailed: "
        "training failed: There is no person in the group."
    )
    assert report.training["staff"].status == "failed"
    assert checkpoints.for_address("staff")[-1] == CallResult(training_status="failed")


def test_training_that_outlasts_the_timeout_is_a_clear_failure(tmp_path: Path):
    fake = FakeBackend(training_polls=10**6)
    time = FakeTime()
    report, checkpoints = run(enrolment(tmp_path, persons=1, faces=1), fake, sleep=time.sleep,
                              clock=time.clock, training_timeout=30.0)  # fmt: skip
    ((change, error),) = report.failed
    assert error.code == "TrainingTimeout"
    assert "still running after 30 s" in str(error)
    assert time.now <= 30.0 and max(time.sleeps) <= 3.0
    assert checkpoints.for_address("staff")[-1] == CallResult(training_status="running")


def test_no_wait_starts_training_and_does_not_poll(tmp_path: Path):
    fake = FakeBackend()
    report, checkpoints = run(enrolment(tmp_path, persons=1, faces=1), fake, wait=False)
    assert report.ok
    assert report.training["staff"].status == "running"
    assert fake.operations("train_group") and not fake.operations("get_training_status")
    assert checkpoints.for_address("staff")[-1] == CallResult(training_status="running")


def test_a_train_refused_while_training_runs_is_repeated_after_a_wait(tmp_path: Path):
    fake = FakeBackend()
    busy = ApiError(409, "PersonGroupTrainingNotFinished", "Person group is under training.")
    fake.inject("train_group", busy)
    report, _ = run(enrolment(tmp_path, persons=1, faces=1), fake)
    assert report.ok
    assert len(fake.operations("train_group")) == 2


def test_a_status_not_there_yet_right_after_train_counts_as_not_started(tmp_path: Path):
    fake = FakeBackend()
    fake.inject("get_training_status", ApiError(404, "PersonGroupNotTrained", "not trained"))
    report, _ = run(enrolment(tmp_path, persons=1, faces=1), fake)
    assert report.training["staff"].status == "succeeded"


def test_each_changed_group_is_trained_once(tmp_path: Path):
    fake = FakeBackend()
    both = plan(*enrolment(tmp_path, "a", 2, 1).changes, *enrolment(tmp_path, "b", 2, 1).changes)
    checkpoints = Checkpoints()
    report = execute(both, fake, checkpoint=checkpoints, sleep=lambda s: None)
    assert sorted(report.training) == ["a", "b"]
    assert sorted(c.args["group_id"] for c in fake.operations("train_group")) == ["a", "b"]
