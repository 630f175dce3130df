"""Fixtures of the fault campaign: one photo pool per session, analysed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.gallery import Pool, build_pool, warm_up


@pytest.fixture(scope="session")
def pool(small_faces: Path) -> Pool:
    built = build_pool(small_faces)
    warm_up(built)
    return built
