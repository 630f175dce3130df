from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facesync.emulator.models import FaceService
from facesync.emulator.recognition import Recognition
from facesync.emulator.store import Store
from facesync.emulator.training import IndexCache, Trainer

from .fakes import FakeVision


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def fake_vision() -> FakeVision:
    return FakeVision()


@pytest.fixture
def indexes() -> IndexCache:
    return IndexCache()


@pytest.fixture
def service(store: Store, fake_vision: FakeVision) -> FaceService:
    return FaceService(store, "S0", fake_vision.analyse)


@pytest.fixture
def trainer(
    store: Store, indexes: IndexCache, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Trainer]:
    monkeypatch.setattr("facesync.emulator.training.TRAINING_MIN_SECONDS", 0.0)
    running = Trainer(store, indexes)
    yield running
    running.stop()


@pytest.fixture
def recognition(store: Store, fake_vision: FakeVision, indexes: IndexCache) -> Recognition:
    return Recognition(store, fake_vision.analyse, indexes)
