"""Fixtures of the emulator contract suite.

One emulator serves the whole session (each test makes its own uniquely named
groups); tests that need another configuration start a short-lived one with
`make_emulator`. The repository's photos are shrunk once per session so that
detection stays quick.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from facesync.emulator.server import EmulatorConfig, start_emulator

from .support import KINDS, Api, Kind, Photos, api_for, create_group, downscaled, png_bomb

FACES_DIR = Path(__file__).resolve().parents[2] / "manifests" / "faces"
KEY = "k" * 32

# Portraits shrink to 400 px (faces of 90-160 px); group photos keep 700 px so
# their smallest faces (about 90 px in the 1280 px original) stay near 50 px.
PORTRAIT_SIDE = 400
GROUP_SIDE = 700
SMALL_SIDE = 220


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Photos:
    folder = tmp_path_factory.mktemp("photos")
    for source in sorted(FACES_DIR.rglob("*.jpg")):
        rel = source.relative_to(FACES_DIR)
        side = GROUP_SIDE if rel.parts[0] == "groups" else PORTRAIT_SIDE
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(downscaled(source.read_bytes(), side))
    portrait = FACES_DIR / "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
    (folder / "small").mkdir()
    (folder / "small/obama_official.jpg").write_bytes(downscaled(portrait.read_bytes(), SMALL_SIDE))
    return Photos(folder)


def config(data_dir: Path, **overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "key": KEY,
        "port": 0,
        "tier": "unlimited",
        "latency_ms": 0,
        "fault_rate": 0.0,
        "fault_seed": None,
    }
    settings.update(overrides)
    return EmulatorConfig(**settings)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    emu = start_emulator(config(tmp_path_factory.mktemp("emulator-data")))
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def api(emulator: Any) -> Api:
    return api_for(emulator.url, emulator.key)


@pytest.fixture
def make_emulator(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start short-lived emulators with a special configuration; all stop at teardown."""
    started: list[Any] = []

    def make(data_dir: Path | None = None, **overrides: Any) -> Any:
        folder = data_dir or tmp_path / f"data-{len(started)}"
        emu = start_emulator(config(folder, **overrides))
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        with contextlib.suppress(Exception):
            emu.stop()


@pytest.fixture(params=KINDS, ids=["PersonGroup", "LargePersonGroup"])
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


@pytest.fixture
def group(api: Api, kind: Kind) -> str:
    """A new, empty group of the parametrised kind."""
    return create_group(api, kind)


@pytest.fixture(scope="session")
def bomb() -> bytes:
    return png_bomb()
