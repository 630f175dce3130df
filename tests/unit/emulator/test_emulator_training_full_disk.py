"""Training on a full disk: a failed training the client can see, never "running"
forever (a client would wait its whole training timeout) and never a traceback."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import pytest

from facesync.emulator.kinds import PERSON_GROUP
from facesync.emulator.models import FaceService
from facesync.emulator.store import _open_failure
from facesync.emulator.training import Trainer

from .fakes import FakeVision
from .test_emulator_training_identify import enrol


def _disk_full(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_fails_the_training_in_one_line(
    service: FaceService, fake_vision: FakeVision, trainer: Trainer,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1])
    monkeypatch.setattr(trainer.store.snapshots, "write", _disk_full)
    with caplog.at_level(logging.WARNING):
        trainer.train(PERSON_GROUP, "staff")
        trainer.wait()
    status = trainer.status(PERSON_GROUP, "staff")
    assert status.status == "failed"
    assert status.message == "Training failed: the emulator could not write its data."
    assert all(record.exc_info is None for record in caplog.records)  # no traceback


def test_a_failure_that_cannot_be_saved_is_answered_from_memory(
    service: FaceService, fake_vision: FakeVision, trainer: Trainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1])
    monkeypatch.setattr(trainer.store.snapshots, "write", _disk_full)
    monkeypatch.setattr(trainer, "_finish", _disk_full)  # the failure's row cannot be saved
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    assert trainer.status(PERSON_GROUP, "staff").status == "failed"


def test_data_that_cannot_be_opened_for_want_of_space_says_so() -> None:
    line = _open_failure(Path("d/emulator.sqlite3"), sqlite3.OperationalError("disk I/O error"))
    assert "is the disk full?" in line and "free some space" in line
    other = _open_failure(Path("d/x"), sqlite3.DatabaseError("file is not a database"))
    assert other == "d/x cannot be opened as emulator data: file is not a database."
