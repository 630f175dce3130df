"""Fixtures of the property tests: one emulator and one photo pool per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from tests.faults.gallery import Pool, build_pool, warm_up

PEOPLE = 5  # people of the sample set that the manifests draw on


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_emulator(
        EmulatorConfig(data_dir=tmp_path_factory.mktemp("property-emulator"), port=0)
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pool(small_faces: Path) -> Pool:
    """Five people, three distinct photos each (re-encodes where one portrait is all there is)."""
    everyone = build_pool(small_faces, per_identity=3)
    chosen = {k: v[:3] for k, v in sorted(everyone.items())[:PEOPLE]}
    warm_up(chosen)
    return chosen
