"""The backend contract suite runs every test against each FaceBackend:
the in-memory FakeBackend and the HttpBackend talking to the real emulator
over HTTP on 127.0.0.1. A fake that passes here may stand in for the service
in unit tests; a client that passes here speaks the Face API's wire."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facesync.backends.http import HttpBackend
from tests.fakes import FakeBackend

KEY = "contract-suite-key-5f4e3d"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from facesync.emulator.server import EmulatorConfig, start_emulator
    except ImportError as exc:  # only while the emulator is being written
        pytest.skip(f"the emulator does not import yet: {exc}")
    emu = start_emulator(
        EmulatorConfig(
            data_dir=tmp_path_factory.mktemp("contract-emulator"), key=KEY, port=0, tier="unlimited"
        )  # fmt: skip
    )
    yield emu
    emu.stop()


@pytest.fixture(params=["fake", "emulator"])
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeBackend()
        return
    emu = request.getfixturevalue("emulator")
    client = HttpBackend(emu.url, emu.key)
    yield client
    client.close()


@pytest.fixture
def gid(request: pytest.FixtureRequest) -> str:
    """A group id no other test uses (the emulator is shared by the session)."""
    return f"c{next(_names):03d}-{request.node.name[5:30]}".lower().replace("[", "-").strip("-]")


@pytest.fixture(scope="session")
def faces(small_faces: Path) -> dict[str, bytes]:
    """Single-face portraits by person (400 px copies of the repository's photos)."""
    portraits = {
        "koch": "christina_koch/koch_2023-03-29_nasa-portrait.jpg",
        "hansen": "jeremy_hansen/hansen_2023-03-29_nasa-portrait.jpg",
        "glover": "victor_glover/glover_2023-03-29_nasa-portrait.jpg",
    }
    return {name: (small_faces / path).read_bytes() for name, path in portraits.items()}
